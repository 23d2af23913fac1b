//! Post-mortems: the seed team's template, the first draft Vigil writes from what it recorded,
//! and the shapes the editor, the revision history and the public page share.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{
    incident::{component_status_for, IncidentView, UpdateView},
    monitor::MonitorStatus,
    stack::{Mark, Stack},
    status::{component_status, ComponentStatus},
};

/// The seed team's headings, in order, with the prompt each one answers.
pub const SECTIONS: [(&str, &str); 9] = [
    (
        "Leadup",
        "List the sequence of events that led to the incident.",
    ),
    ("Impact", "How internal and external users were impacted."),
    (
        "Detection",
        "When the team detected the incident, and how detection time could improve.",
    ),
    ("Response", "Who responded, and what obstacles they met."),
    (
        "Recovery",
        "How the incident was resolved, and how future mitigation could improve.",
    ),
    (
        "Five Whys",
        "A \"What?\" line followed by a chain of \"Why?\" answers.",
    ),
    (
        "Blameless root cause",
        "The final root cause and what must change to prevent recurrence.",
    ),
    ("Lessons learned", "What the team learned."),
    ("Follow-up tasks", "A checklist of tasks."),
];

pub const MAX_TITLE: usize = 200;
/// What rendered headings' anchors start with (`#section-impact`), so a heading never takes an
/// id the page itself uses.
pub const ANCHOR_PREFIX: &str = "section-";
pub const MAX_BODY: usize = 200_000;
pub const MAX_CAPTION: usize = 200;
/// At most this many events in a draft's lead-up and timeline, so a flapping outage still drafts
/// into something a person can edit (and save: well under `MAX_BODY`).
const LEADUP_LINES: usize = 30;
/// A lead-up drawn from the chain of causes: its events only, a screenful.
const CHAIN_LEADUP_LINES: usize = 10;
const TIMELINE_LINES: usize = 400;

/// A post-mortem as the editor and the public page read it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PostmortemView {
    pub id: i64,
    pub incident_id: i64,
    pub incident_name: String,
    pub title: String,
    /// Markdown.
    pub body: String,
    /// The body rendered and sanitized on the server; the browser never renders Markdown.
    pub html: String,
    pub revision: i32,
    pub published_at: Option<DateTime<Utc>>,
    /// Everyone who saved a revision, first author first.
    pub authors: Vec<String>,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
    pub snapshots: Vec<Snapshot>,
    /// Contributing factors (`model::reliability::FACTORS`).
    #[serde(default)]
    pub tags: Vec<String>,
}

impl PostmortemView {
    pub fn is_published(&self) -> bool {
        self.published_at.is_some()
    }
}

/// Graphs as Vigil had them when the snapshot was taken.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub id: i64,
    pub caption: String,
    pub stack: Stack,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// Shown on the public post-mortem. Off until the author turns it on: graphs carry node
    /// names, addresses and error text.
    #[serde(default)]
    pub public: bool,
    /// Shown publicly with backend addresses and ports as recorded (otherwise they are left out).
    #[serde(default)]
    pub keep_addresses: bool,
}

/// How the text places a snapshot: a line of its own, `{{snapshot:12}}`.
pub fn snapshot_ref(id: i64) -> String {
    format!("{{{{snapshot:{id}}}}}")
}

/// A rendered post-mortem cut where the text places snapshots.
#[derive(Clone, Debug, PartialEq)]
pub enum Part {
    /// Sanitized HTML (whole paragraphs: the cuts fall between them).
    Html(String),
    Snapshot(i64),
}

/// The snapshot a `{{snapshot:N}}` reference names; `None` for anything else.
pub fn parse_snapshot_ref(s: &str) -> Option<i64> {
    let n = s.strip_prefix("{{snapshot:")?.strip_suffix("}}")?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok()
}

/// Cuts rendered HTML at each `<p>{{snapshot:N}}</p>` (a snapshot reference on a line of its
/// own), so pages place the snapshot's figure there.
pub fn parts(html: &str) -> Vec<Part> {
    const OPEN: &str = "<p>{{snapshot:";
    fn push(out: &mut Vec<Part>, text: &str) {
        if text.is_empty() {
            return;
        }
        match out.last_mut() {
            Some(Part::Html(h)) => h.push_str(text),
            _ => out.push(Part::Html(text.to_string())),
        }
    }
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find(OPEN) {
        let inner = &rest[at + "<p>".len()..];
        let reference = inner
            .find("</p>")
            .and_then(|end| parse_snapshot_ref(&inner[..end]).map(|id| (id, end)));
        match reference {
            Some((id, end)) => {
                push(&mut out, &rest[..at]);
                out.push(Part::Snapshot(id));
                rest = &inner[end + "</p>".len()..];
            }
            // Not a reference after all: text, and look further on.
            None => {
                push(&mut out, &rest[..at + OPEN.len()]);
                rest = &rest[at + OPEN.len()..];
            }
        }
    }
    push(&mut out, rest);
    out
}

/// Where an exported snapshot's SVG lives inside the zip, beside `postmortem.md`.
pub fn snapshot_file(id: i64) -> String {
    format!("snapshots/snapshot-{id}.svg")
}

/// The Markdown export: a title, where it stands, the text as readers get it (`shown_body`) with
/// each `{{snapshot:N}}` line turned into an image of `snapshots/snapshot-N.svg`, and the
/// snapshots the text does not place under "Graphs" at the end.
pub fn export_markdown(p: &PostmortemView, shown_body: &str, now: DateTime<Utc>) -> String {
    let caption_of = |id: i64| {
        p.snapshots
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.caption.as_str())
    };
    let mut placed = Vec::new();
    let mut text = String::new();
    for line in shown_body.lines() {
        match parse_snapshot_ref(line.trim()).and_then(|id| caption_of(id).map(|c| (id, c))) {
            Some((id, caption)) => {
                placed.push(id);
                text.push_str(&format!(
                    "![{}]({})\n",
                    md_escape(caption),
                    snapshot_file(id)
                ));
            }
            None => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    let state = match p.published_at {
        Some(at) => format!("Published {}", stamp(at)),
        None => "Draft (not published)".to_string(),
    };
    let mut md = format!(
        "# {}\n\n_{state} · revision {} · by {} · exported {}_\n\n{}",
        md_escape(&p.title),
        p.revision,
        md_escape(&p.authors.join(", ")),
        stamp(now),
        text.trim_end()
    );
    md.push('\n');
    let rest: Vec<&Snapshot> = p
        .snapshots
        .iter()
        .filter(|s| !placed.contains(&s.id))
        .collect();
    if !rest.is_empty() {
        md.push_str("\n## Graphs\n\n");
        for s in rest {
            md.push_str(&format!(
                "![{}]({})\n\n",
                md_escape(&s.caption),
                snapshot_file(s.id)
            ));
        }
    }
    md
}

/// The snapshots the text places, in order.
pub fn placed_snapshots(html: &str) -> Vec<i64> {
    parts(html)
        .into_iter()
        .filter_map(|p| match p {
            Part::Snapshot(id) => Some(id),
            Part::Html(_) => None,
        })
        .collect()
}

/// One line of the post-mortem list in `/ops/postmortems`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PostmortemSummary {
    pub id: i64,
    pub incident_id: i64,
    pub incident_name: String,
    pub title: String,
    pub revision: i32,
    pub published_at: Option<DateTime<Utc>>,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum RevisionKind {
    /// Vigil's first draft.
    Drafted,
    Saved,
    /// Saved from an older revision than the current one: kept, not made current.
    Conflict,
    /// An older revision brought back.
    Restored,
}

impl RevisionKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }

    pub fn describe(self) -> &'static str {
        match self {
            RevisionKind::Drafted => "drafted by Vigil",
            RevisionKind::Saved => "saved",
            RevisionKind::Conflict => "kept after a conflicting save",
            RevisionKind::Restored => "restored",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevisionSummary {
    pub number: i32,
    pub kind: RevisionKind,
    pub based_on: Option<i32>,
    pub title: String,
    pub author: String,
    pub created_at: DateTime<Utc>,
}

/// One line of a diff between two revisions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiffLine {
    /// '+' added, '-' removed, ' ' unchanged.
    pub tag: char,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RevisionView {
    pub postmortem_id: i64,
    pub summary: RevisionSummary,
    pub body: String,
    /// The revision it is compared with: the one it was based on, else the one before it.
    pub compared_with: Option<i32>,
    pub diff: Vec<DiffLine>,
    /// The post-mortem's current revision, for the restore form.
    pub current: i32,
}

/// What a save did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SaveOutcome {
    /// Now the current revision.
    Saved { revision: i32 },
    /// Somebody saved `current` meanwhile; this text is kept as revision `kept_as`.
    Conflict { current: i32, kept_as: i32 },
}

/// What Vigil knows when it drafts: the incident, the signals over its window, and when the
/// first notification went out.
pub struct DraftFacts<'a> {
    pub incident: &'a IncidentView,
    pub stack: &'a Stack,
    /// What each affected component's monitors recorded over the incident (see [`ComponentHistory`]).
    pub history: &'a [ComponentHistory],
    /// When the first notification about the incident's window was delivered, and to which
    /// channel.
    pub first_notification: Option<(DateTime<Utc>, String)>,
    pub now: DateTime<Utc>,
    /// The chains of causes Vigil's evidence points to, when computed.
    pub causes: Option<&'a super::causes::Causes>,
    /// What the incident cost each objective counting the affected components' checks.
    pub budgets: &'a [super::objective::BudgetUse],
}

/// What one component's monitors said over an incident: their states when it opened and every
/// recorded change (`monitor.state` events) until it was resolved. From this the draft says what
/// users saw — not the component's state today.
#[derive(Clone, Debug, Default)]
pub struct ComponentHistory {
    pub component: String,
    /// Each monitor's state at the incident's start.
    pub initial: Vec<(String, MonitorStatus)>,
    /// (when, monitor, new state), oldest first.
    pub changes: Vec<(DateTime<Utc>, String, MonitorStatus)>,
}

/// Per component: the worst state users saw during `[start, end)` and how long each
/// non-operational state lasted, worst first. `None` when the monitors recorded no trouble.
pub fn impact_of(
    h: &ComponentHistory,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Option<(ComponentStatus, Vec<(ComponentStatus, Duration)>)> {
    let mut states: std::collections::BTreeMap<String, MonitorStatus> =
        h.initial.iter().cloned().collect();
    let status_now = |states: &std::collections::BTreeMap<String, MonitorStatus>| {
        let list: Vec<MonitorStatus> = states.values().copied().collect();
        component_status(&list, false).unwrap_or(ComponentStatus::Operational)
    };
    let mut spans: Vec<(ComponentStatus, Duration)> = Vec::new();
    let mut add = |state: ComponentStatus, d: Duration| {
        if state == ComponentStatus::Operational || d <= Duration::zero() {
            return;
        }
        match spans.iter_mut().find(|(s, _)| *s == state) {
            Some((_, total)) => *total += d,
            None => spans.push((state, d)),
        }
    };
    let mut t = start;
    let mut current = status_now(&states);
    for (at, monitor, to) in &h.changes {
        if *at >= end {
            break;
        }
        if *at > t {
            add(current, *at - t);
            t = *at;
        }
        states.insert(monitor.clone(), *to);
        current = status_now(&states);
    }
    add(current, end - t);
    spans.sort_by_key(|(s, _)| std::cmp::Reverse(severity(*s)));
    spans.first().map(|(worst, _)| (*worst, spans.clone()))
}

fn severity(s: ComponentStatus) -> u8 {
    match s {
        ComponentStatus::Operational => 0,
        ComponentStatus::UnderMaintenance => 1,
        ComponentStatus::DegradedPerformance => 2,
        ComponentStatus::PartialOutage => 3,
        ComponentStatus::MajorOutage => 4,
    }
}

/// Markdown-escapes recorded text so a monitor name like `db_*` reads as written.
pub fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '~'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn clock(t: DateTime<Utc>) -> String {
    t.format("%H:%M:%S UTC").to_string()
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub fn minutes(d: Duration) -> String {
    let m = d.num_minutes();
    if m < 1 {
        format!("{} s", d.num_seconds().max(0))
    } else if m < 120 {
        format!("{m} min")
    } else {
        format!("{} h {} min", m / 60, m % 60)
    }
}

fn mark_time(m: &Mark) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(m.t).unwrap_or_default()
}

fn bullet(t: DateTime<Utc>, text: &str) -> String {
    format!("- {} — {}\n", clock(t), md_escape(text))
}

fn prompt(text: &str) -> String {
    // An HTML comment: visible while editing, dropped when rendered.
    format!("<!-- {text} -->\n")
}

/// The title a fresh post-mortem gets.
pub fn draft_title(incident: &IncidentView) -> String {
    let t = format!("Post-mortem: {}", incident.name);
    t.chars().take(MAX_TITLE).collect()
}

/// The first draft: the template's headings, each prompt, and under them what Vigil recorded —
/// what happened before the incident opened, what it affected and for how long, how it was
/// detected and notified, the public updates, recovery, and the whole timeline. People write the
/// why; Vigil writes down the when.
pub fn draft(f: &DraftFacts) -> String {
    let i = f.incident;
    let end = i.resolved_at.unwrap_or(f.now);
    let mut marks: Vec<&Mark> = f.stack.marks.iter().collect();
    marks.sort_by_key(|m| m.t);
    // The lead-up is what went wrong or changed — including the load balancer's configuration
    // being changed or posted again; neutral marks (Vigil starting, the incident's own
    // bookkeeping) stay in the timeline only.
    let before: Vec<&Mark> = marks
        .iter()
        .copied()
        .filter(|m| mark_time(m) < i.started_at && (m.tone != "info" || m.kind == "lb.config"))
        .collect();
    // Detection counts only what belongs to this incident: signals from the lookback before it
    // opened, never an earlier outage's that the graphs' wider window still shows.
    let detect_from = i.started_at - super::incident::SIGNAL_LOOKBACK;
    let first_bad = marks
        .iter()
        .find(|m| m.tone == "bad" && mark_time(m) >= detect_from)
        .map(|m| mark_time(m));
    // The incident's own window: what recovered after it was resolved is context, not recovery.
    let recovered: Vec<&Mark> = marks
        .iter()
        .copied()
        .filter(|m| m.tone == "good" && mark_time(m) >= i.started_at && mark_time(m) <= end)
        .collect();
    let mut updates = i.updates.iter().filter(|u| !u.internal).collect::<Vec<_>>();
    updates.sort_by_key(|u| (u.created_at, u.id));

    let mut md = String::new();
    let components = i
        .components
        .iter()
        .map(|c| md_escape(&c.name))
        .collect::<Vec<_>>()
        .join(", ");
    md.push_str(&format!(
        "_Incident #{} · {} impact · {} – {} ({}){}_\n\n",
        i.id,
        i.impact,
        stamp(i.started_at),
        i.resolved_at.map_or("ongoing".to_string(), stamp),
        minutes(end - i.started_at),
        if components.is_empty() {
            String::new()
        } else {
            format!(" · affects {components}")
        }
    ));

    let best = f.causes.and_then(|c| c.chains.first());
    for (heading, ask) in SECTIONS {
        md.push_str(&format!("## {heading}\n\n"));
        md.push_str(&prompt(ask));
        md.push('\n');
        match heading {
            "Leadup" => match best {
                Some(chain) => chain_leadup(&mut md, chain, before.len()),
                None => leadup(&mut md, &before),
            },
            "Impact" => impact(&mut md, f, end),
            "Detection" => detection(&mut md, f, first_bad, &marks),
            "Response" => response(&mut md, &updates),
            "Recovery" => recovery(&mut md, i, &recovered),
            "Five Whys" => match (best, f.causes) {
                (Some(chain), Some(causes)) => five_whys(&mut md, chain, causes),
                _ => {
                    if let Some(c) = f.causes {
                        md.push_str(&format!(
                            "_Vigil's suggestion:_ {}\n\n",
                            md_escape(&c.summary)
                        ));
                    }
                    md.push_str("What? \n\n1. Why? \n2. Why? \n3. Why? \n4. Why? \n5. Why? \n");
                }
            },
            "Blameless root cause" => {
                if let Some(chain) = best {
                    root_cause(&mut md, chain);
                }
            }
            "Follow-up tasks" => md.push_str("- [ ] \n"),
            _ => {}
        }
        md.push('\n');
    }

    md.push_str("## Timeline\n\n");
    md.push_str(&prompt(
        "Everything Vigil recorded in the incident's window.",
    ));
    md.push('\n');
    // Context before the incident opened and after it was resolved is marked as such.
    let mut lines: Vec<(DateTime<Utc>, String)> = marks
        .iter()
        .map(|m| {
            let t = mark_time(m);
            let when = if t < i.started_at {
                "(before) "
            } else if i.resolved_at.is_some_and(|r| t > r) {
                "(after) "
            } else {
                ""
            };
            (t, format!("{when}{}", m.message))
        })
        .collect();
    lines.extend(updates.iter().map(|u| {
        (
            u.created_at,
            format!(
                "Update ({}): {}",
                u.status,
                u.body.lines().next().unwrap_or("")
            ),
        )
    }));
    lines.sort_by_key(|l| l.0);
    if lines.is_empty() {
        md.push_str("Vigil recorded no events in this window.\n");
    }
    let total = lines.len();
    for (t, text) in lines.into_iter().take(TIMELINE_LINES) {
        md.push_str(&format!("- {} — {}\n", stamp_seconds(t), md_escape(&text)));
    }
    if total > TIMELINE_LINES {
        md.push_str(&format!(
            "- … and {} more events: the correlation view of this window and the graph snapshots have them all\n",
            total - TIMELINE_LINES
        ));
    }
    md
}

/// When a link's evidence began, as the Five Whys cite it.
fn cited_at(l: &super::causes::Link) -> String {
    clock(l.began_at)
}

/// Leadup, when a chain explains the incident: the events on the chain, oldest first, and where
/// the rest are.
fn chain_leadup(md: &mut String, chain: &super::causes::Chain, all: usize) {
    md.push_str("_Vigil's suggestion: the events on the likely chain of causes._\n\n");
    // Every link is represented by its first piece of evidence; the rest fill what is left of
    // a screenful, oldest first.
    fn of(l: &super::causes::Link) -> Vec<&super::causes::Cited> {
        l.evidence
            .iter()
            .filter(|c| c.source != "summary")
            .collect()
    }
    let mut cited: Vec<&super::causes::Cited> = chain
        .links
        .iter()
        .filter_map(|l| of(l).first().copied())
        .collect();
    let mut rest: Vec<&super::causes::Cited> = chain.links.iter().flat_map(of).collect();
    rest.sort_by_key(|c| c.at);
    for c in rest {
        if cited.len() >= CHAIN_LEADUP_LINES {
            break;
        }
        if !cited.iter().any(|k| k.text == c.text) {
            cited.push(c);
        }
    }
    cited.sort_by_key(|c| c.at);
    cited.dedup_by(|a, b| a.text == b.text);
    for c in &cited {
        md.push_str(&bullet(c.at, &c.text));
    }
    md.push_str(&format!(
        "\nThe full timeline ({all} events before the incident opened, and everything after) is \
         under [Timeline](#section-timeline) below and in the correlation view of this window.\n"
    ));
}

/// Five Whys from the best chain: "What?" is the symptom, each "Why?" the next link with the
/// time its evidence began; what was in the window but not a cause is named as such.
fn five_whys(md: &mut String, chain: &super::causes::Chain, causes: &super::causes::Causes) {
    md.push_str(
        "_Vigil's suggestion, from its own evidence (times are when each link's evidence began); \
         check it against the cited events before you keep it._\n\n",
    );
    let mut links = chain.links.iter();
    if let Some(what) = links.next() {
        md.push_str(&format!("What? {}\n\n", md_escape(&what.says)));
    }
    let mut n = 0;
    for l in links {
        n += 1;
        let detail = l
            .evidence
            .iter()
            .find(|c| c.source == "summary")
            .map(|c| format!(" — {}", c.text))
            .unwrap_or_default();
        md.push_str(&format!(
            "{n}. Why? {}{} ({})\n",
            md_escape(&l.says),
            md_escape(&detail),
            cited_at(l)
        ));
    }
    while n < 5 {
        n += 1;
        md.push_str(&format!("{n}. Why? \n"));
    }
    for l in &causes.also {
        let why = match l.strength {
            super::causes::Strength::Coincident => "coincident: began after the failure",
            super::causes::Strength::Contradicted => {
                "began before, but the chain above explains the failure"
            }
            super::causes::Strength::Precedes => continue,
        };
        md.push_str(&format!(
            "\nNot the cause ({why}): {} ({})\n",
            md_escape(&l.says),
            cited_at(l)
        ));
    }
}

/// Blameless root cause: the chain's deepest link, and the contributing factors it suggests.
fn root_cause(md: &mut String, chain: &super::causes::Chain) {
    md.push_str(&format!(
        "_Vigil's suggestion:_ {}.\n\nSuggested contributing factors: {}.\n",
        md_escape(&chain.cause),
        chain.factors.join(", ")
    ));
}

/// Leadup: what Vigil recorded going wrong before the incident opened, nearest last.
fn leadup(md: &mut String, before: &[&Mark]) {
    if before.is_empty() {
        md.push_str("Vigil recorded nothing unusual in the 30 minutes before.\n");
        return;
    }
    md.push_str("Vigil recorded, before the incident opened:\n\n");
    // The events closest to the start tell the story; a long flapping lead-up would drown it.
    let skip = before.len().saturating_sub(LEADUP_LINES);
    if skip > 0 {
        md.push_str(&format!("- … {skip} earlier events (see the timeline)\n"));
    }
    for m in &before[skip..] {
        md.push_str(&bullet(mark_time(m), &m.message));
    }
}

/// Impact: what users saw during the incident, from what the monitors recorded; without such a
/// record, what the incident declared for its whole length.
fn impact(md: &mut String, f: &DraftFacts, end: DateTime<Utc>) {
    let i = f.incident;
    for c in &i.components {
        let recorded = f
            .history
            .iter()
            .find(|h| h.component == c.id)
            .and_then(|h| impact_of(h, i.started_at, end));
        match recorded {
            Some((worst, spans)) => {
                let times = spans
                    .iter()
                    .map(|(s, d)| format!("{} for {}", s.label().to_lowercase(), minutes(*d)))
                    .collect::<Vec<_>>()
                    .join(", ");
                md.push_str(&format!(
                    "- {}: at worst {} ({times})\n",
                    md_escape(&c.name),
                    worst.label().to_lowercase(),
                ));
            }
            None => {
                let declared = ComponentStatus::parse(component_status_for(i.impact))
                    .unwrap_or(ComponentStatus::MajorOutage);
                if declared == ComponentStatus::Operational {
                    md.push_str(&format!(
                        "- {}: no outage recorded by Vigil's checks\n",
                        md_escape(&c.name)
                    ));
                } else {
                    md.push_str(&format!(
                        "- {}: {} for {} (declared; Vigil's checks recorded no outage)\n",
                        md_escape(&c.name),
                        declared.label().to_lowercase(),
                        minutes(end - i.started_at)
                    ));
                }
            }
        }
    }
    if i.components.is_empty() {
        md.push_str("- No component was marked as affected.\n");
    }
    for b in f.budgets {
        md.push_str(&format!("- {}\n", md_escape(&b.sentence())));
    }
}

/// Detection: the first failing signal, the opening, the first notification, time to detect.
fn detection(md: &mut String, f: &DraftFacts, first_bad: Option<DateTime<Utc>>, marks: &[&Mark]) {
    let i = f.incident;
    if let Some(t) = first_bad {
        md.push_str(&format!("- First failing signal: {}\n", clock(t)));
    }
    // What the cluster itself said first: a node under pressure, pods evicted or OOM-killed.
    let detect_from = i.started_at - super::incident::SIGNAL_LOOKBACK;
    if let Some(m) = marks
        .iter()
        .find(|m| m.tone == "bad" && m.kind.starts_with("k8s.") && mark_time(m) >= detect_from)
    {
        md.push_str(&format!(
            "- First word from Kubernetes, {}: {}\n",
            clock(mark_time(m)),
            md_escape(&m.message)
        ));
    }
    // What the providers said, and when: the word the seed team waited days for.
    for m in marks.iter().filter(|m| m.kind == "upstream.incident") {
        md.push_str(&format!(
            "- Provider's status page, {}: {}\n",
            clock(mark_time(m)),
            md_escape(&m.message)
        ));
    }
    md.push_str(&format!(
        "- Incident opened {}: {}\n",
        if i.automatic {
            "automatically by Vigil"
        } else {
            "by a person"
        },
        clock(i.started_at)
    ));
    match &f.first_notification {
        Some((t, channel)) => md.push_str(&format!(
            "- First notification delivered: {} ({})\n",
            clock(*t),
            md_escape(channel)
        )),
        None => md.push_str("- No notification was delivered.\n"),
    }
    if let Some(t) = first_bad {
        md.push_str(&format!(
            "- Time to detect: {}\n",
            minutes(i.started_at - t)
        ));
    }
}

/// Response: the public updates, in order, first line each.
fn response(md: &mut String, updates: &[&UpdateView]) {
    if updates.is_empty() {
        md.push_str("No public updates were posted.\n");
        return;
    }
    for u in updates {
        md.push_str(&format!(
            "- {} — {} ({}): {}\n",
            clock(u.created_at),
            u.status,
            md_escape(&u.author),
            md_escape(u.body.lines().next().unwrap_or(""))
        ));
    }
}

/// Recovery: what came back within the incident's window, monitoring, resolution.
fn recovery(md: &mut String, i: &IncidentView, recovered: &[&Mark]) {
    for m in recovered {
        md.push_str(&bullet(mark_time(m), &m.message));
    }
    if let Some(t) = i.monitoring_at {
        md.push_str(&format!("- Monitoring from {}\n", clock(t)));
    }
    match i.resolved_at {
        Some(t) => md.push_str(&format!(
            "- Resolved {} after {}\n",
            clock(t),
            minutes(t - i.started_at)
        )),
        None => md.push_str("- Not resolved yet.\n"),
    }
}

/// The body with a dated "Update" line on top, the way the seed team amended published posts.
pub fn with_update(body: &str, at: DateTime<Utc>, text: &str) -> String {
    let text = text.trim().replace("\r\n", "\n");
    format!(
        "**Update {}:** {}\n\n{}",
        at.format("%Y-%m-%d"),
        text.replace("\n\n", "\n"),
        body
    )
}

fn stamp_seconds(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::incident::{
        AffectedComponent, Impact, IncidentKind, IncidentStatus, Progress,
    };

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn rendered_text_is_cut_where_it_places_snapshots() {
        let html = "<h2>Impact</h2><p>{{snapshot:12}}</p><p>after {{snapshot:3}}</p><p>{{snapshot:x}}</p><p>{{snapshot:7}}</p>";
        assert_eq!(
            parts(html),
            [
                Part::Html("<h2>Impact</h2>".into()),
                Part::Snapshot(12),
                Part::Html("<p>after {{snapshot:3}}</p><p>{{snapshot:x}}</p>".into()),
                Part::Snapshot(7),
            ]
        );
        assert_eq!(placed_snapshots(html), [12, 7]);
        assert_eq!(parts("<p>x</p>"), [Part::Html("<p>x</p>".into())]);
        assert_eq!(snapshot_ref(5), "{{snapshot:5}}");
    }

    fn mark(t: &str, tone: &str, message: &str) -> Mark {
        Mark {
            t: at(t).timestamp_millis(),
            kind: "x".into(),
            tone: tone.into(),
            message: message.into(),
        }
    }

    fn incident() -> IncidentView {
        IncidentView {
            id: 7,
            kind: IncidentKind::Incident,
            name: "Website is unavailable".into(),
            status: Progress::Incident(IncidentStatus::Resolved),
            impact: Impact::Major,
            automatic: true,
            taken_over: false,
            started_at: at("2026-11-20T14:06:00Z"),
            monitoring_at: Some(at("2026-11-20T14:40:00Z")),
            resolved_at: Some(at("2026-11-20T14:48:00Z")),
            scheduled_for: None,
            scheduled_until: None,
            created_at: at("2026-11-20T14:06:00Z"),
            updated_at: at("2026-11-20T14:48:00Z"),
            components: vec![AffectedComponent {
                id: "site".into(),
                name: "Web_site".into(),
                status: "major_outage".into(),
            }],
            updates: vec![
                UpdateView {
                    id: 2,
                    status: "investigating".into(),
                    body: "secret internal musing".into(),
                    internal: true,
                    author: "ana".into(),
                    created_at: at("2026-11-20T14:10:00Z"),
                },
                UpdateView {
                    id: 1,
                    status: "investigating".into(),
                    body: "We are looking into it.".into(),
                    internal: false,
                    author: "vigil".into(),
                    created_at: at("2026-11-20T14:06:00Z"),
                },
            ],
            evidence: vec![],
            postmortem: None,
        }
    }

    fn history() -> ComponentHistory {
        use MonitorStatus::*;
        ComponentHistory {
            component: "site".into(),
            initial: vec![("site-http".into(), Down), ("site-tls".into(), Up)],
            changes: vec![
                (at("2026-11-20T14:20:00Z"), "site-tls".into(), Down),
                (at("2026-11-20T14:30:00Z"), "site-tls".into(), Up),
                (at("2026-11-20T14:39:00Z"), "site-http".into(), Up),
                // After resolution: not the incident's.
                (at("2026-11-20T15:00:00Z"), "site-http".into(), Down),
            ],
        }
    }

    #[test]
    fn recovery_keeps_to_the_incident_and_the_timeline_marks_context() {
        let i = incident();
        let mut s = stack();
        s.marks
            .push(mark("2026-11-20T15:05:00Z", "good", "later recovery"));
        let md = draft(&DraftFacts {
            incident: &i,
            stack: &s,
            history: &[history()],
            first_notification: None,
            now: at("2026-11-21T00:00:00Z"),
            causes: None,
            budgets: &[],
        });
        let recovery = &md[md.find("## Recovery").unwrap()..md.find("## Five Whys").unwrap()];
        assert!(!recovery.contains("later recovery"), "{recovery}");
        assert!(recovery.contains("site down → up"), "{recovery}");
        assert!(md.contains("(after) later recovery"), "{md}");
        assert!(md.contains("(before) memory"), "{md}");
    }

    #[test]
    fn config_reapplies_lead_up_and_the_providers_word_is_part_of_detection() {
        let i = incident();
        let mut s = stack();
        s.marks.push(Mark {
            kind: "lb.config".into(),
            ..mark(
                "2026-11-20T14:01:00Z",
                "info",
                "lke-ingress :80 configuration re-applied, no change",
            )
        });
        s.marks.push(Mark {
            kind: "k8s.node".into(),
            ..mark(
                "2026-11-20T14:02:00Z",
                "bad",
                "Kubernetes node lke-node-b memory pressure (True) — KubeletHasInsufficientMemory",
            )
        });
        s.marks.push(Mark {
            kind: "k8s.pod".into(),
            ..mark(
                "2026-11-20T14:04:00Z",
                "bad",
                "Pod default/api-1 on lke-node-b evicted: The node was low on resource: memory.",
            )
        });
        s.marks.push(Mark {
            kind: "upstream.incident".into(),
            ..mark(
                "2026-11-20T14:12:00Z",
                "bad",
                "Linode incident opened — NodeBalancer connectivity",
            )
        });
        let md = draft(&DraftFacts {
            incident: &i,
            stack: &s,
            history: &[history()],
            first_notification: None,
            now: at("2026-11-21T00:00:00Z"),
            causes: None,
            budgets: &[],
        });
        let leadup = &md[md.find("## Leadup").unwrap()
            ..md.find("## Fault").unwrap_or(md.find("## Impact").unwrap())];
        assert!(
            leadup.contains("configuration re-applied, no change"),
            "{leadup}"
        );
        assert!(
            leadup.contains("14:02") && leadup.contains("lke-node-b memory pressure (True)"),
            "{leadup}"
        );
        assert!(leadup.contains("api-1 on lke-node-b evicted"), "{leadup}");
        let detection = &md[md.find("## Detection").unwrap()..md.find("## Response").unwrap()];
        assert!(
            detection.contains("Provider's status page, 14:12")
                && detection.contains("NodeBalancer connectivity"),
            "{detection}"
        );
        assert!(
            detection
                .contains("First word from Kubernetes, 14:02:00 UTC: Kubernetes node lke-node-b"),
            "{detection}"
        );
    }

    #[test]
    fn without_recorded_checks_the_impact_is_what_was_declared() {
        let i = incident();
        let md = draft(&DraftFacts {
            incident: &i,
            stack: &stack(),
            history: &[],
            first_notification: None,
            now: at("2026-11-21T00:00:00Z"),
            causes: None,
            budgets: &[],
        });
        assert!(
            md.contains("- Web\\_site: partial outage for 42 min (declared"),
            "{md}"
        );
    }

    fn stack() -> Stack {
        Stack {
            from: at("2026-11-20T13:36:00Z"),
            to: at("2026-11-20T15:18:00Z"),
            sections: vec![],
            marks: vec![
                mark("2026-11-20T14:05:00Z", "bad", "site up → down"),
                mark("2026-11-20T13:58:00Z", "bad", "memory > 90% on node-2"),
                mark("2026-11-20T14:39:00Z", "good", "site down → up"),
                mark("2026-11-20T13:37:00Z", "info", "site unknown → up"),
            ],
        }
    }

    #[test]
    fn impact_states_the_budget_the_incident_used() {
        use crate::model::objective::{BudgetUse, Maintenance, Span, Target, Window};
        let used = BudgetUse {
            name: "Website availability".into(),
            target: Target::from_percent(99.9).unwrap(),
            window: Window::Rolling(Span::days(30)),
            bad: 16,
            used: 0.37,
            maintenance: Maintenance::Excluded,
        };
        let md = draft(&DraftFacts {
            incident: &incident(),
            stack: &stack(),
            history: &[history()],
            first_notification: None,
            now: at("2026-11-21T00:00:00Z"),
            causes: None,
            budgets: std::slice::from_ref(&used),
        });
        let impact = &md[md.find("## Impact").unwrap()..md.find("## Detection").unwrap()];
        assert!(
            impact.contains("- Website availability (99.9 % over 30d): this incident used 37 % of the error budget (16 failed checks)"),
            "{impact}"
        );
    }

    #[test]
    fn detection_ignores_signals_from_before_the_incidents_own_window() {
        // The memory alert (13:58) is 17 minutes before this incident opened: an earlier era's.
        let mut i = incident();
        i.started_at = at("2026-11-20T14:15:00Z");
        let md = draft(&DraftFacts {
            incident: &i,
            stack: &stack(),
            history: &[history()],
            first_notification: None,
            now: at("2026-11-21T00:00:00Z"),
            causes: None,
            budgets: &[],
        });
        let detection = &md[md.find("## Detection").unwrap()..md.find("## Response").unwrap()];
        assert!(
            detection.contains("- First failing signal: 14:05:00 UTC"),
            "{detection}"
        );
        assert!(!detection.contains("13:58"), "{detection}");
        assert!(
            detection.contains("- Time to detect: 10 min"),
            "{detection}"
        );
    }

    #[test]
    fn the_draft_has_every_heading_in_order_with_what_vigil_recorded() {
        let i = incident();
        let s = stack();
        let md = draft(&DraftFacts {
            incident: &i,
            stack: &s,
            history: &[history()],
            first_notification: Some((at("2026-11-20T14:06:30Z"), "discord ops".into())),
            now: at("2026-11-21T00:00:00Z"),
            causes: None,
            budgets: &[],
        });
        let mut last = 0;
        for (h, _) in SECTIONS {
            let pos = md
                .find(&format!("## {h}\n"))
                .unwrap_or_else(|| panic!("{h}"));
            assert!(pos > last || last == 0, "{h} out of order");
            last = pos;
        }
        // Leadup holds what came before the incident opened, oldest first.
        let leadup = &md[md.find("## Leadup").unwrap()..md.find("## Impact").unwrap()];
        let mem = leadup
            .find("13:58:00 UTC — memory \\> 90% on node-2")
            .unwrap();
        let site = leadup.find("14:05:00 UTC — site up → down").unwrap();
        assert!(mem < site);
        assert!(
            !leadup.contains("unknown"),
            "neutral marks stay out of the lead-up"
        );
        assert!(
            md.contains("13:37:00 UTC — (before) site unknown → up"),
            "but are on the timeline"
        );
        // What users saw, not the component's state today (it is operational again): one of
        // two monitors down 14:06–14:20 (partial), both 14:20–14:30 (major), one 14:30–14:39.
        assert!(
            md.contains("- Web\\_site: at worst major outage (major outage for 10 min, partial outage for 23 min)"),
            "{md}"
        );
        assert!(md.contains("- First failing signal: 13:58:00 UTC"));
        assert!(md.contains("- First notification delivered: 14:06:30 UTC (discord ops)"));
        assert!(md.contains("- Time to detect: 8 min"));
        assert!(md.contains("- 14:39:00 UTC — site down → up"));
        assert!(md.contains("- Resolved 14:48:00 UTC after 42 min"));
        assert!(md.contains("- [ ] "));
        // Internal notes never make it into something that may be published.
        assert!(!md.contains("secret internal musing"));
        assert!(md.contains("We are looking into it."));
    }

    #[test]
    fn a_flapping_outage_drafts_into_something_editable() {
        let i = incident();
        let mut s = stack();
        s.marks = (0..5000)
            .map(|n| Mark {
                t: at("2026-11-20T13:40:00Z").timestamp_millis() + n * 1000,
                kind: "monitor.state".into(),
                tone: if n % 2 == 0 { "bad" } else { "good" }.into(),
                message: format!("site flap {n}"),
            })
            .collect();
        let md = draft(&DraftFacts {
            incident: &i,
            stack: &s,
            history: &[],
            first_notification: None,
            now: at("2026-11-21T00:00:00Z"),
            causes: None,
            budgets: &[],
        });
        assert!(md.chars().count() < MAX_BODY, "{} chars", md.len());
        // 5000 marks and the one public update.
        assert!(md.contains("… and 4601 more events"));
        let leadup = &md[md.find("## Leadup").unwrap()..md.find("## Impact").unwrap()];
        assert!(leadup.contains("earlier events"));
        assert!(
            leadup.contains("site flap 1559"),
            "the events nearest the start stay"
        );
    }

    #[test]
    fn updates_go_on_top_with_their_date() {
        let body = with_update(
            "## Leadup\n",
            at("2026-12-01T09:00:00Z"),
            " Grafana moved.\r\n",
        );
        assert_eq!(body, "**Update 2026-12-01:** Grafana moved.\n\n## Leadup\n");
    }

    #[test]
    fn recorded_text_is_escaped_as_markdown() {
        assert_eq!(md_escape("db_*[x]<b>"), "db\\_\\*\\[x\\]\\<b\\>");
    }

    #[test]
    fn revision_kinds_round_trip() {
        for k in [
            RevisionKind::Drafted,
            RevisionKind::Saved,
            RevisionKind::Conflict,
            RevisionKind::Restored,
        ] {
            assert_eq!(RevisionKind::parse(k.as_str()), Some(k));
        }
    }
}
