//! Markdown that people wrote, made safe to show, and line diffs between revisions. Server side
//! only: the browser receives finished, sanitized HTML.

use crate::model::postmortem::DiffLine;

pub mod svg;

/// CommonMark with tables, task lists and strikethrough, then sanitized: scripts, event
/// handlers, `javascript:` links and comments are removed whatever the author typed.
pub fn markdown_to_html(md: &str) -> String {
    use pulldown_cmark::{html, Options, Parser};
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_FOOTNOTES;
    use pulldown_cmark::{Event, Tag, TagEnd};
    // Headings get anchors (`#five-whys`, prefixed by the sanitizer), so the editor's outline
    // and a reader's link can point at a section.
    let mut events: Vec<Event> = Parser::new_ext(md, options).collect();
    let mut i = 0;
    while i < events.len() {
        if let Event::Start(Tag::Heading { .. }) = &events[i] {
            let mut text = String::new();
            for e in &events[i + 1..] {
                match e {
                    Event::End(TagEnd::Heading(_)) => break,
                    Event::Text(t) | Event::Code(t) => text.push_str(t),
                    _ => {}
                }
            }
            if let Event::Start(Tag::Heading { id, .. }) = &mut events[i] {
                *id = Some(crate::model::review::slug(&text).into());
            }
        }
        i += 1;
    }
    let mut unsafe_html = String::with_capacity(md.len() * 3 / 2);
    html::push_html(&mut unsafe_html, events.into_iter());
    ammonia::Builder::default()
        .add_tag_attributes("h1", ["id"])
        .add_tag_attributes("h2", ["id"])
        .add_tag_attributes("h3", ["id"])
        .id_prefix(Some(crate::model::postmortem::ANCHOR_PREFIX))
        // Task-list checkboxes are rendered as disabled inputs; keep them, nothing else.
        .add_tags(["input"])
        .add_tag_attribute_values("input", "type", ["checkbox"])
        .add_tag_attributes("input", ["checked", "disabled"])
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&unsafe_html)
        .to_string()
}

/// Plain text that people typed, as HTML that shows exactly that text: everything escaped,
/// blank-line-separated paragraphs as `<p>`, other line breaks as `<br>`.
pub fn text_to_html(text: &str) -> String {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;")
    };
    text.split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| format!("<p>{}</p>", escape(p.trim()).replace('\n', "<br>")))
        .collect()
}

/// A graph snapshot as the public may see it: addresses (IPv4/IPv6 with or without a port,
/// `host:port`, URLs) in titles, labels and event texts become "[address]". Values stay.
pub fn public_stack(stack: &crate::model::stack::Stack) -> crate::model::stack::Stack {
    use crate::model::stack::Row;
    use std::sync::OnceLock;
    static ADDRESS: OnceLock<regex::Regex> = OnceLock::new();
    let re = ADDRESS.get_or_init(|| {
        regex::Regex::new(
            r"(?x)
            [a-zA-Z][a-zA-Z0-9+.-]*://\S+                      # URLs
            | \[[0-9A-Fa-f:.]+\](?::\d{1,5})?                  # [IPv6]:port
            | \b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b          # IPv4[:port]
            | \b(?:[0-9A-Fa-f]{1,4}:){2,7}[0-9A-Fa-f]{1,4}\b     # IPv6
            | \b[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+:\d{1,5}\b      # host.name:port
            ",
        )
        .expect("a valid pattern")
    });
    let clean = |s: &str| re.replace_all(s, "[address]").into_owned();
    let mut out = stack.clone();
    for section in &mut out.sections {
        section.title = clean(&section.title);
        for row in &mut section.rows {
            match row {
                Row::States { label, .. } => *label = clean(label),
                Row::Graph { label, lines, .. } => {
                    *label = clean(label);
                    for l in lines {
                        l.name = clean(&l.name);
                    }
                }
            }
        }
    }
    for m in &mut out.marks {
        m.message = clean(&m.message);
    }
    out
}

/// Line by line, what changed from `old` to `new`.
pub fn diff(old: &str, new: &str) -> Vec<DiffLine> {
    use similar::{ChangeTag, TextDiff};
    TextDiff::from_lines(old, new)
        .iter_all_changes()
        .map(|c| DiffLine {
            tag: match c.tag() {
                ChangeTag::Insert => '+',
                ChangeTag::Delete => '-',
                ChangeTag::Equal => ' ',
            },
            text: c.value().trim_end_matches('\n').to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_snapshots_leave_addresses_out() {
        use crate::model::stack::{Mark, Row, Section, Stack};
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let stack = Stack {
            from: at,
            to: at,
            sections: vec![Section {
                title: "NodeBalancer 10.0.0.1:443".into(),
                rows: vec![Row::States {
                    label: "backend 192.168.128.7:80 on lke-node-a".into(),
                    segments: vec![],
                }],
            }],
            marks: vec![Mark {
                t: 0,
                kind: "monitor.state".into(),
                tone: "bad".into(),
                message: "site-http down: error sending request for url (https://www.example.org/health?key=s3cret) via [2001:db8::1]:443 and db.internal:5432".into(),
            }],
        };
        let p = public_stack(&stack);
        let text = serde_json::to_string(&p).unwrap();
        for secret in [
            "10.0.0.1",
            "192.168.128.7",
            "s3cret",
            "example.org",
            "2001:db8",
            "db.internal",
            ":5432",
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains("lke-node-a"), "node names stay: {text}");
        assert!(text.contains("backend [address] on lke-node-a"), "{text}");
    }

    #[test]
    fn typed_text_becomes_inert_html() {
        let html = text_to_html("Fixed <script>alert(2)</script> & more\n\nsecond \"para\"\nline");
        assert_eq!(
            html,
            "<p>Fixed &lt;script&gt;alert(2)&lt;/script&gt; &amp; more</p><p>second &quot;para&quot;<br>line</p>"
        );
    }

    #[test]
    fn headings_get_prefixed_anchors_and_typed_ids_are_prefixed_too() {
        let html = markdown_to_html("## Five Whys\n\n<h2 id=\"top\">x</h2>\n\n{{snapshot:4}}\n");
        assert!(
            html.contains(r#"<h2 id="section-five-whys">Five Whys</h2>"#),
            "{html}"
        );
        assert!(html.contains(r#"id="section-top""#), "{html}");
        assert!(html.contains("<p>{{snapshot:4}}</p>"), "{html}");
    }

    #[test]
    fn markdown_renders_and_hostile_markup_does_not() {
        let html = markdown_to_html(
            "## Impact\n\n- [x] done\n- [ ] todo\n\n<script>alert(1)</script>\n\n\
             <img src=x onerror=alert(2)>\n\n[link](javascript:alert(3))\n\n<!-- a prompt -->\n",
        );
        assert!(
            html.contains(r#"<h2 id="section-impact">Impact</h2>"#),
            "{html}"
        );
        assert!(html.contains("type=\"checkbox\""), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(!html.contains("a prompt"), "{html}");
    }

    #[test]
    fn diffs_mark_added_and_removed_lines() {
        let d = diff("a\nb\nc\n", "a\nB\nc\n");
        let tags: String = d.iter().map(|l| l.tag).collect();
        assert_eq!(tags, " -+ ");
        assert_eq!(d[2].text, "B");
    }
}
