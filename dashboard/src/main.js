// The partner dashboard: a partnership's needs at a glance, live. It reads the public API with
// the documents in `documents/dashboard/` (bundled as text, sent by hash first), or with a token
// pasted by the user and kept in this browser's storage until they forget it.

import "./dashboard.css";
import NEEDS from "../../documents/dashboard/DashboardNeeds.graphql";
import ROUNDS from "../../documents/dashboard/DashboardRounds.graphql";
import COMMISSIONS from "../../documents/dashboard/DashboardCommissions.graphql";
import SUMMARIES from "../../documents/dashboard/DashboardSummaries.graphql";
import CHOICES from "../../documents/dashboard/DashboardChoices.graphql";
import NEED_EVENTS from "../../documents/dashboard/DashboardNeedEvents.graphql";
import EXPORT from "../../documents/dashboard/DashboardExport.graphql";
import { query, liveClient, subscribe } from "./api.js";
import { bars, months } from "./charts.js";
import { LANGUAGES, words, needStatus, commissionStatus, day, number } from "./words.js";

const STORED_LANGUAGE = "knowledge-hub.dashboard.language";
const STORED_TOKEN = "knowledge-hub.dashboard.token";
// Events come in bursts (a merge moves two needs); one read of the counts answers a burst.
const SETTLE_MS = 100;
const PERIOD_DAYS = { "30d": 30, "6m": 183, "12m": 365 };

const $ = (id) => document.getElementById(id);

function stored(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function store(key, value) {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // Storage may be off (private mode): the page works, it just forgets.
  }
}

const params = new URLSearchParams(location.search);
const state = {
  language: LANGUAGES.includes(params.get("lang")) ? params.get("lang") : LANGUAGES.includes(stored(STORED_LANGUAGE)) ? stored(STORED_LANGUAGE) : "nb",
  token: stored(STORED_TOKEN),
  filters: {
    partnership: params.get("partnership") || "",
    organisation: params.get("organisation") || "",
    theme: params.get("theme") || "",
    period: params.get("period") || "all",
    search: params.get("search") || "",
  },
  choices: null,
  answers: {},
  live: null,
  subscription: null,
  revision: 0,
};

// --- what is asked -------------------------------------------------------------------------

function needFilter() {
  const f = state.filters;
  const filter = {};
  if (f.partnership) filter.partnership = f.partnership;
  if (f.organisation.trim()) filter.organisation = f.organisation.trim();
  if (f.theme) filter.theme = [f.theme];
  if (PERIOD_DAYS[f.period]) {
    filter.submittedAfter = new Date(Date.now() - PERIOD_DAYS[f.period] * 86400000).toISOString();
  }
  return filter;
}

function eventFilter() {
  const { submittedAfter, ...filter } = needFilter();
  return filter;
}

function search() {
  return state.filters.search.trim() || null;
}

function failed(answer) {
  const problem = answer.errors && answer.errors.length ? answer.errors[0] : null;
  if (!problem) return;
  const code = problem.extensions && problem.extensions.code;
  const box = $("failure");
  box.hidden = false;
  box.textContent = `${words(state.language).failed}: ${problem.message}${code ? ` (${code})` : ""}`;
}

async function ask(document, variables) {
  const answer = await query(document, variables, state.token);
  failed(answer);
  return answer.data || null;
}

async function loadNeeds() {
  const data = await ask(NEEDS, { filter: needFilter(), search: search() });
  if (data) {
    state.answers.needs = data;
    state.revision += 1;
    renderNeeds();
  }
}

async function loadWork() {
  const theme = state.filters.theme || null;
  const [rounds, commissions, summaries] = await Promise.all([
    ask(ROUNDS, {}),
    ask(COMMISSIONS, { theme }),
    ask(SUMMARIES, { search: search() }),
  ]);
  Object.assign(state.answers, { rounds, commissions, summaries });
  renderWork();
}

async function loadChoices() {
  state.choices = await ask(CHOICES, {});
  renderChoices();
}

async function loadAll() {
  $("failure").hidden = true;
  await Promise.all([loadNeeds(), loadWork()]);
}

// --- live ----------------------------------------------------------------------------------

let settling = null;

function changed() {
  clearTimeout(settling);
  settling = setTimeout(() => {
    loadNeeds();
    // A need's move can open or close commissions' work and rounds' candidates.
    loadWork();
  }, SETTLE_MS);
}

function showLive(connected) {
  const live = $("live");
  live.dataset.live = String(connected);
  live.textContent = connected ? words(state.language).live : words(state.language).offline;
}

function connect() {
  if (state.live) state.live.dispose();
  state.live = liveClient(state.token, showLive);
  state.subscription = null;
  follow();
}

// Subscribes with the filters of the moment, ending the subscription of the filters before; of
// two calls in flight only the later one's subscription stays.
let following = 0;

async function follow() {
  const mine = ++following;
  if (state.subscription) state.subscription();
  state.subscription = null;
  const filter = eventFilter();
  const unsubscribe = await subscribe(state.live, NEED_EVENTS, { filter }, changed);
  if (mine !== following) {
    unsubscribe();
    return;
  }
  state.subscription = unsubscribe;
  // What the page follows, for the browser tests.
  document.body.dataset.following = JSON.stringify(filter);
}

// --- drawing -------------------------------------------------------------------------------

function element(tag, text, attributes) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  return node;
}

function chart(name) {
  return document.querySelector(`figure[data-chart="${name}"]`);
}

function themeLabel(theme) {
  return theme ? theme.labels[state.language] || theme.labels.nb : words(state.language).noTheme;
}

function renderNeeds() {
  const data = state.answers.needs;
  if (!data) return;
  const w = words(state.language);
  const stats = data.needStats;
  $("total").textContent = number(stats.total, state.language);
  $("total").dataset.value = String(stats.total);
  $("updated").textContent = new Date().toLocaleTimeString(w.locale);
  bars(chart("status"), stats.byStatus.map((s) => ({ key: s.status, label: needStatus(s.status, state.language), count: s.count })), w);
  bars(chart("theme"), stats.byTheme.map((t) => ({ key: t.theme ? t.theme.key : "", label: themeLabel(t.theme), count: t.count })), w);
  bars(chart("cluster"), stats.byCluster.map((c) => ({ key: c.cluster ? c.cluster.key : "", label: c.cluster ? c.cluster.name : w.noCluster, count: c.count })), w);
  const municipalities = [...stats.byMunicipality].sort((a, b) => b.count - a.count).slice(0, 10);
  bars(chart("municipality"), municipalities.map((m) => ({ key: m.municipality ? m.municipality.code : "", label: m.municipality ? m.municipality.name : w.none, count: m.count })), w);
  bars(chart("district"), stats.byDistrict.map((d) => ({ key: d.district ? d.district.code : "", label: d.district ? d.district.name : w.none, count: d.count })), w);
  months(chart("month"), stats.submissionsByMonth, w);

  const top = $("top-needs");
  const head = element("tr");
  for (const heading of [w.need, "Status", w.municipalities, w.inhabitants]) head.appendChild(element("th", heading, { scope: "col" }));
  const rows = data.topNeeds.nodes.map((need) => {
    const row = element("tr", null, { "data-need": need.id });
    row.append(
      element("td", need.municipality ? `${need.title} (${need.municipality.name})` : need.title),
      element("td", needStatus(need.status, state.language)),
      element("td", number(need.reach.municipalities, state.language), { class: "number" }),
      element("td", number(need.reach.inhabitants, state.language), { class: "number" }),
    );
    return row;
  });
  top.replaceChildren(element("thead"), element("tbody"));
  top.tHead.appendChild(head);
  top.tBodies[0].append(...rows);
  document.body.dataset.revision = String(state.revision);
}

function inPartnership(partnership) {
  return !state.filters.partnership || (partnership && partnership.key === state.filters.partnership);
}

function emptyOr(list, nodes, members) {
  const w = words(state.language);
  if (nodes.length) return false;
  list.replaceChildren(element("p", members && !state.token ? w.membersOnly : w.none, { class: "empty" }));
  return true;
}

function renderWork() {
  const w = words(state.language);
  const { rounds, commissions, summaries } = state.answers;

  const roundList = $("rounds");
  const openRounds = rounds ? rounds.rounds.nodes.filter((r) => inPartnership(r.partnership)) : [];
  if (!emptyOr(roundList, openRounds, true)) {
    roundList.replaceChildren(
      ...openRounds.map((round) => {
        const block = element("article", null, { class: "round", "data-round": round.id });
        block.append(element("h3", round.name), element("p", `${w.closes} ${day(round.closesAt, state.language)}`, { class: "meta" }));
        const ranking = element("ol", null, { class: "ranking" });
        for (const entry of round.ranking.nodes) {
          const mean = entry.weightedMean === null ? "–" : entry.weightedMean.toFixed(2);
          ranking.appendChild(element("li", `${entry.need.title} · ${w.score} ${mean} · ${w.municipalities.toLowerCase()} ${entry.reach}`, { value: String(entry.position) }));
        }
        block.appendChild(ranking);
        return block;
      }),
    );
  }

  const commissionList = $("commissions");
  const running = commissions ? commissions.commissions.nodes.filter((c) => inPartnership(c.partnership)) : [];
  if (!emptyOr(commissionList, running, true)) {
    const list = element("ul", null, { class: "list" });
    for (const commission of [...running].sort((a, b) => a.deadline.localeCompare(b.deadline))) {
      const item = element("li", null, { "data-commission": commission.id });
      item.append(
        element("span", commission.question, { class: "title" }),
        element("span", `${commissionStatus(commission.status, state.language)} · ${w.deadline} ${day(commission.deadline, state.language)}${commission.awardedInstitution ? ` · ${commission.awardedInstitution.name}` : ""}`, { class: "meta" }),
      );
      list.appendChild(item);
    }
    commissionList.replaceChildren(list);
  }

  const summaryList = $("summaries");
  const published = summaries ? summaries.summaries.nodes.filter((s) => inPartnership(s.commission && s.commission.partnership)) : [];
  summaryList.replaceChildren(
    ...(published.length
      ? published.map((summary) => {
          const item = element("li", null, { "data-summary": summary.id });
          const title = summary.url && /^https?:/.test(summary.url) ? element("a", summary.title, { href: summary.url, rel: "noopener" }) : element("span", summary.title);
          title.classList.add("title");
          item.append(title, element("span", `${summary.authors} · ${w.published} ${day(summary.publishedAt, state.language)}`, { class: "meta" }));
          return item;
        })
      : [element("li", w.none, { class: "empty" })]),
  );
}

function renderChoices() {
  const w = words(state.language);
  const choices = state.choices;
  const partnership = $("partnership");
  partnership.replaceChildren(element("option", w.all, { value: "" }));
  for (const p of choices ? choices.partnerships.nodes : []) partnership.appendChild(element("option", p.name, { value: p.key }));
  partnership.value = state.filters.partnership;
  const theme = $("theme");
  theme.replaceChildren(element("option", w.all, { value: "" }));
  const themes = choices ? [...choices.themes.nodes] : [];
  themes.sort((a, b) => themeLabel(a).localeCompare(themeLabel(b), w.locale));
  for (const t of themes) theme.appendChild(element("option", themeLabel(t), { value: t.id }));
  theme.value = state.filters.theme;
  $("who").textContent = choices && choices.viewer.authenticated ? w.signedIn : w.publicView;
}

function renderWords() {
  const w = words(state.language);
  document.documentElement.lang = state.language;
  document.title = w.title;
  for (const node of document.querySelectorAll("[data-word]")) node.textContent = w[node.dataset.word];
  for (const option of $("period").options) option.textContent = w.periods[option.value];
  $("language").value = state.language;
  showLive($("live").dataset.live === "true");
  renderChoices();
  renderNeeds();
  renderWork();
}

// --- the user's moves ----------------------------------------------------------------------

function remember() {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(state.filters)) if (value && !(key === "period" && value === "all")) query.set(key, value);
  history.replaceState(null, "", query.toString() ? `?${query}` : location.pathname);
}

let typing = null;

// Reads everything again as the token's person (or the public, with none), and keeps the token in
// this browser until it is forgotten. The field is cleared: the token is not shown again.
function useToken(token) {
  state.token = token;
  store(STORED_TOKEN, token);
  $("token").value = "";
  loadChoices();
  loadAll();
  connect();
}

function filtersChanged() {
  remember();
  loadAll();
  follow();
}

function wire() {
  $("language").addEventListener("change", (event) => {
    state.language = event.target.value;
    store(STORED_LANGUAGE, state.language);
    renderWords();
  });
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token").value.trim();
    if (token) useToken(token);
  });
  $("forget").addEventListener("click", () => useToken(null));
  for (const id of ["partnership", "theme", "period"]) {
    $(id).addEventListener("change", (event) => {
      state.filters[id] = event.target.value;
      filtersChanged();
    });
  }
  for (const id of ["organisation", "search"]) {
    $(id).value = state.filters[id];
    $(id).addEventListener("input", (event) => {
      state.filters[id] = event.target.value;
      clearTimeout(typing);
      typing = setTimeout(filtersChanged, 300);
    });
  }
  $("period").value = state.filters.period;
  $("filters").addEventListener("submit", (event) => event.preventDefault());
  $("print").addEventListener("click", () => window.print());
  $("export").addEventListener("click", () => exportNeeds("CSV"));
  $("export-xlsx").addEventListener("click", () => exportNeeds("XLSX"));
}

// Asks for a link to the needs in the filter as a file, and follows it: the browser downloads it.
async function exportNeeds(format) {
  const w = words(state.language);
  const message = $("export-message");
  message.textContent = "";
  const variables = { filter: needFilter(), search: search(), format, language: state.language.toUpperCase() };
  const answer = await query(EXPORT, variables, state.token);
  const url = answer.data && answer.data.needsExport && answer.data.needsExport.url;
  if (url) {
    location.href = url;
  } else {
    const problem = (answer.errors || [])[0];
    message.textContent = `${w.failed}: ${problem ? problem.message : ""}`;
  }
}

wire();
renderWords();
loadChoices();
loadAll();
connect();
