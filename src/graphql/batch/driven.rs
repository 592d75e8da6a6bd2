//! The future a request runs in ([`Driven`], made by [`Batcher::drive`]): it polls the execution,
//! tells a yield from a wait, and at each wait starts the loads of the pass.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, Wake, Waker},
};

use futures_util::{StreamExt, future::BoxFuture, stream::FuturesUnordered};

use super::Batcher;

/// An execution and the loads it waits for; see [`Batcher::drive`].
pub struct Driven<F: Future, L> {
    execution: Pin<Box<tokio::task::Unconstrained<F>>>,
    batcher: Batcher<L>,
    loads: FuturesUnordered<BoxFuture<'static, ()>>,
    /// Notes whether the execution woke itself; `alarm_waker` is the waker made of it that the
    /// execution is polled with.
    alarm: Arc<Alarm>,
    alarm_waker: Waker,
    /// Polls in a row in which the execution yielded.
    yields: u32,
}

/// After this many yields in a row, the keys asked for are loaded anyway: a safety valve against an
/// execution that yields until a load answers (none of ours does). A page of 500 items takes about
/// 250 yields per pass (`FuturesUnordered` yields after two of its items yielded), nested pages
/// their product, so the valve is far above that.
const MAX_YIELDS: u32 = 1 << 20;

/// Forwards wakes to the task's waker and remembers that one came.
struct Alarm {
    rang: AtomicBool,
    task: Mutex<Option<Waker>>,
}

impl Wake for Alarm {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.rang.store(true, Ordering::SeqCst);
        if let Some(task) = self.task.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).as_ref() {
            task.wake_by_ref();
        }
    }
}

impl<F: Future, L: Send + Sync + 'static> Driven<F, L> {
    /// `execution`, to be run with the loads of `batcher`.
    pub(super) fn new(batcher: Batcher<L>, execution: F) -> Self {
        let alarm = Arc::new(Alarm { rang: false.into(), task: Mutex::new(None) });
        Driven {
            // Tokio's cooperative budget would make a busy execution look idle and split a pass.
            execution: Box::pin(tokio::task::unconstrained(execution)),
            batcher,
            loads: FuturesUnordered::new(),
            alarm_waker: Waker::from(alarm.clone()),
            alarm,
            yields: 0,
        }
    }

    /// Polls the execution; `Err(true)` if it is pending but woke itself (it only yielded).
    fn poll_execution(&mut self, cx: &Context<'_>) -> Result<F::Output, bool> {
        {
            let mut task = self.alarm.task.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if !task.as_ref().is_some_and(|t| t.will_wake(cx.waker())) {
                *task = Some(cx.waker().clone());
            }
        }
        self.alarm.rang.store(false, Ordering::SeqCst);
        match self.execution.as_mut().poll(&mut Context::from_waker(&self.alarm_waker)) {
            Poll::Ready(output) => Ok(output),
            Poll::Pending => Err(self.alarm.rang.load(Ordering::SeqCst)),
        }
    }
}

impl<F: Future, L: Send + Sync + 'static> Future for Driven<F, L> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        loop {
            let yielded = match this.poll_execution(cx) {
                Ok(output) => return Poll::Ready(output),
                Err(yielded) => yielded,
            };
            if yielded && this.yields < MAX_YIELDS {
                // Not idle: siblings are still to be polled and may ask for more keys. The
                // execution's own wake brings this task back; meanwhile the loads move on.
                this.yields += 1;
                while let Poll::Ready(Some(())) = this.loads.poll_next_unpin(cx) {}
                return Poll::Pending;
            }
            this.yields = 0;
            // The execution waits: everything it asked for in this pass is one load per key type.
            for wanted in this.batcher.take_pending() {
                this.loads.push(wanted.start(this.batcher.shared.clone()));
            }
            let mut answered = false;
            while let Poll::Ready(Some(())) = this.loads.poll_next_unpin(cx) {
                answered = true;
            }
            if !answered {
                return Poll::Pending;
            }
        }
    }
}
