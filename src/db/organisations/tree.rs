//! Writing the organisation tree: every change of a parent keeps the closure in step.
