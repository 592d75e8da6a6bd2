// The dashboard's words in bokmål (nb), nynorsk (nn) and English (en). Every key exists in every
// language; `words(language)` falls back to bokmål for a language the page does not know.

export const LANGUAGES = ["nb", "nn", "en"];

const WORDS = {
  nb: {
    locale: "nb-NO",
    title: "Kunnskapsbehov: oversikt",
    language: "Språk",
    token: "Nøkkel (token)",
    tokenHint: "Lim inn en nøkkel for å se mer. Den huskes i denne nettleseren.",
    useToken: "Bruk",
    forgetToken: "Glem nøkkelen",
    signedIn: "Med nøkkel",
    publicView: "Offentlig visning",
    filters: "Utvalg",
    partnership: "Samarbeid",
    organisation: "Organisasjon (nøkkel eller nummer)",
    theme: "Tema",
    period: "Periode",
    search: "Søk",
    all: "Alle",
    periods: { all: "Hele perioden", "30d": "Siste 30 dager", "6m": "Siste 6 måneder", "12m": "Siste 12 måneder" },
    total: "Behov i alt",
    byStatus: "Etter status",
    byTheme: "Etter tema",
    byCluster: "Etter klynge",
    byMunicipality: "Etter kommune (topp 10)",
    byDistrict: "Etter bydel",
    byMonth: "Innsendt per måned",
    count: "Antall",
    none: "Ingen",
    noCluster: "Utenfor klynge",
    noTheme: "Uten tema",
    topNeeds: "Behovene med størst rekkevidde",
    need: "Behov",
    municipalities: "Kommuner",
    inhabitants: "Innbyggere",
    rounds: "Åpne prioriteringsrunder",
    closes: "Stenger",
    position: "Plass",
    score: "Snitt",
    commissions: "Åpne og pågående oppdrag",
    deadline: "Frist",
    summaries: "Nylig publiserte kunnskapsoppsummeringer",
    published: "Publisert",
    membersOnly: "Synlig med nøkkel for medlemmer.",
    live: "Direkte",
    offline: "Frakoblet",
    updated: "Oppdatert",
    export: "Last ned behovene (CSV)",
    exportXlsx: "… som Excel-fil (XLSX)",
    print: "Skriv ut",
    failed: "Kunne ikke hente data",
  },
  nn: {
    // Browsers format numbers, times and dates for nynorsk as for bokmål, when they know "nn" at all.
    locale: "nb-NO",
    title: "Kunnskapsbehov: oversikt",
    language: "Språk",
    token: "Nøkkel (token)",
    tokenHint: "Lim inn ein nøkkel for å sjå meir. Han vert hugsa i denne nettlesaren.",
    useToken: "Bruk",
    forgetToken: "Gløym nøkkelen",
    signedIn: "Med nøkkel",
    publicView: "Offentleg vising",
    filters: "Utval",
    partnership: "Samarbeid",
    organisation: "Organisasjon (nøkkel eller nummer)",
    theme: "Tema",
    period: "Periode",
    search: "Søk",
    all: "Alle",
    periods: { all: "Heile perioden", "30d": "Siste 30 dagar", "6m": "Siste 6 månader", "12m": "Siste 12 månader" },
    total: "Behov i alt",
    byStatus: "Etter status",
    byTheme: "Etter tema",
    byCluster: "Etter klynge",
    byMunicipality: "Etter kommune (topp 10)",
    byDistrict: "Etter bydel",
    byMonth: "Sendt inn per månad",
    count: "Tal",
    none: "Ingen",
    noCluster: "Utanfor klynge",
    noTheme: "Utan tema",
    topNeeds: "Behova med størst rekkjevidd",
    need: "Behov",
    municipalities: "Kommunar",
    inhabitants: "Innbyggjarar",
    rounds: "Opne prioriteringsrundar",
    closes: "Stengjer",
    position: "Plass",
    score: "Snitt",
    commissions: "Opne og pågåande oppdrag",
    deadline: "Frist",
    summaries: "Nyleg publiserte kunnskapsoppsummeringar",
    published: "Publisert",
    membersOnly: "Synleg med nøkkel for medlemmer.",
    live: "Direkte",
    offline: "Fråkopla",
    updated: "Oppdatert",
    export: "Last ned behova (CSV)",
    exportXlsx: "… som Excel-fil (XLSX)",
    print: "Skriv ut",
    failed: "Kunne ikkje hente data",
  },
  en: {
    locale: "en-GB",
    title: "Knowledge needs: overview",
    language: "Language",
    token: "Token",
    tokenHint: "Paste a token to see more. This browser remembers it.",
    useToken: "Use",
    forgetToken: "Forget the token",
    signedIn: "With a token",
    publicView: "Public view",
    filters: "Filters",
    partnership: "Partnership",
    organisation: "Organisation (key or number)",
    theme: "Theme",
    period: "Period",
    search: "Search",
    all: "All",
    periods: { all: "All time", "30d": "Last 30 days", "6m": "Last 6 months", "12m": "Last 12 months" },
    total: "Needs in all",
    byStatus: "By status",
    byTheme: "By theme",
    byCluster: "By cluster",
    byMunicipality: "By municipality (top 10)",
    byDistrict: "By city district",
    byMonth: "Submitted per month",
    count: "Count",
    none: "None",
    noCluster: "Outside any cluster",
    noTheme: "No theme",
    topNeeds: "The needs with the widest reach",
    need: "Need",
    municipalities: "Municipalities",
    inhabitants: "Inhabitants",
    rounds: "Open prioritisation rounds",
    closes: "Closes",
    position: "Place",
    score: "Mean",
    commissions: "Open and running commissions",
    deadline: "Deadline",
    summaries: "Recently published knowledge summaries",
    published: "Published",
    membersOnly: "Shown to members with a token.",
    live: "Live",
    offline: "Offline",
    updated: "Updated",
    export: "Download the needs (CSV)",
    exportXlsx: "… as an Excel file (XLSX)",
    print: "Print",
    failed: "Could not fetch the data",
  },
};

// The API's statuses in words, as the hub's mails write them (src/notify/words.rs).
const NEED_STATUS = {
  DRAFT: ["utkast", "utkast", "draft"],
  SUBMITTED: ["sendt inn", "sendt inn", "submitted"],
  RETURNED: ["sendt tilbake", "sendt attende", "returned"],
  REJECTED: ["avvist", "avvist", "rejected"],
  ACCEPTED: ["godkjent", "godkjent", "accepted"],
  PRIORITISED: ["prioritert", "prioritert", "prioritised"],
  COMMISSIONED: ["bestilt", "tinga", "commissioned"],
  ANSWERED: ["besvart", "svara", "answered"],
  ANSWERED_BY_EXISTING_EVIDENCE: ["besvart av kunnskap som finnes", "svara av kunnskap som finst", "answered by existing evidence"],
  DEFERRED: ["utsatt", "utsett", "deferred"],
  WITHDRAWN: ["trukket", "trekt", "withdrawn"],
  MERGED: ["slått sammen", "slått saman", "merged"],
  FORWARDED: ["sendt videre til nasjonalt nivå", "sendt vidare til nasjonalt nivå", "forwarded to the national level"],
  PASSED_ON: ["gitt videre til en statlig aktør", "gjeve vidare til ein statleg aktør", "passed on to a national authority"],
};

const COMMISSION_STATUS = {
  DRAFT: ["utkast", "utkast", "draft"],
  OPEN: ["åpen for interesse", "open for interesse", "open for interest"],
  AWARDED: ["tildelt", "tildelt", "awarded"],
  IN_PROGRESS: ["i arbeid", "i arbeid", "in progress"],
  DELIVERED: ["levert", "levert", "delivered"],
  PUBLISHED: ["publisert", "publisert", "published"],
  CANCELLED: ["avlyst", "avlyst", "cancelled"],
};

export function words(language) {
  return WORDS[language] || WORDS.nb;
}

function column(language) {
  const index = LANGUAGES.indexOf(language);
  return index < 0 ? 0 : index;
}

export function needStatus(status, language) {
  return (NEED_STATUS[status] || [status, status, status])[column(language)];
}

export function commissionStatus(status, language) {
  return (COMMISSION_STATUS[status] || [status, status, status])[column(language)];
}

// A date as people write it in the language: "1. des. 2026", "1 Dec 2026"; in UTC, as the hub.
export function day(iso, language) {
  if (!iso) return "";
  return new Date(iso).toLocaleDateString(words(language).locale, { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
}

export function number(value, language) {
  if (value === null || value === undefined) return "–";
  return value.toLocaleString(words(language).locale);
}
