//! User text stays text (SPEC 5.6). Deal names, clients, descriptions, reasons and notes reach
//! replies marked as user text (`user`), and each adapter escapes the marked spans for its
//! platform (`render`): on Slack they cannot mention a channel, a group or everyone, nor make a
//! link the bot did not make; on Discord they cannot ping anyone or mask a link; in a terminal
//! they cannot move the cursor or recolour the screen. Text the bot writes itself passes as is.

/// Opens and closes a span of user text (Unicode private-use characters, never typed).
const OPEN: char = '\u{E000}';
const CLOSE: char = '\u{E001}';

/// Marks `text` as written by a person: each line is its own span, so a line of user text can
/// never become the reply's headline or small print by starting with `> `. Control characters
/// (terminal escapes, bidi overrides) are dropped.
pub fn user(text: &str) -> String {
    let clean = printable(text);
    clean.split('\n').map(|line| format!("{OPEN}{line}{CLOSE}")).collect::<Vec<_>>().join("\n")
}

/// `text` without anything a terminal would act on (escapes, bell, bidi overrides): what the
/// console and the CLI print.
pub fn printable(text: &str) -> String {
    text.chars().filter(|c| !is_control(*c) || *c == '\n').collect()
}

/// Characters no message should carry from a person: C0 and C1 controls (but tab and newline),
/// bidirectional overrides and isolates, and the span markers themselves.
fn is_control(c: char) -> bool {
    (c.is_control() && c != '\t' && c != '\n')
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | OPEN | CLOSE)
}

/// `text` with every span of user text passed through `escape` and everything else through
/// `markup` (the bot's own formatting), markers removed.
pub fn render(
    text: &str,
    mut markup: impl FnMut(&str) -> String,
    mut escape: impl FnMut(&str) -> String,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find(OPEN) {
        out.push_str(&markup(&rest[..open]));
        let inside = &rest[open + OPEN.len_utf8()..];
        let close = inside.find(CLOSE).unwrap_or(inside.len());
        out.push_str(&escape(&inside[..close]));
        rest = inside.get(close + CLOSE.len_utf8()..).unwrap_or("");
    }
    out.push_str(&markup(rest));
    out
}

/// The text as a person reads it in a terminal or a log: markers removed, nothing escaped.
pub fn plain(text: &str) -> String {
    text.chars().filter(|c| *c != OPEN && *c != CLOSE).collect()
}

/// How a terminal shows the bot's own formatting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Terminal {
    /// Plain text: `*bold*` and mention brackets dropped (files, pipes, `ask` output).
    Plain,
    /// ANSI bold and dim, for an interactive terminal.
    Styled,
}

const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

/// The bot's chat formatting (`*bold*`, `<@U1>` mentions, `<#C1>` channels) as terminal text;
/// user text is shown as it was written (made printable), whatever it holds.
pub fn terminal(text: &str, style: Terminal) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut bold, mut in_mention) = (false, false);
    render_into(&mut out, text, |out, bot| {
        // `_(…)_`: the templates' italic asides; italics a terminal shows as plain brackets.
        let bot = bot.replace("_(", "(").replace(")_", ")");
        let mut chars = bot.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '*' => {
                    bold = !bold;
                    if style == Terminal::Styled {
                        out.push_str(if bold { BOLD } else { RESET });
                    }
                }
                '<' if matches!(chars.peek(), Some('@' | '#')) => {
                    in_mention = true;
                    out.extend(chars.next());
                }
                '>' if in_mention => in_mention = false,
                // Code spans (`/staffing <package>`) read as they are in a terminal.
                '`' => {}
                c => out.push(c),
            }
        }
    });
    if bold && style == Terminal::Styled {
        out.push_str(RESET);
    }
    out
}

/// A line of small print, dim in a styled terminal.
pub fn dim(line: &str, style: Terminal) -> String {
    match style {
        Terminal::Plain => line.to_string(),
        Terminal::Styled => format!("{DIM}{line}{RESET}"),
    }
}

/// Walks `text`, handing each span of the bot's own text to `bot` and appending user text as
/// printable text.
fn render_into(out: &mut String, text: &str, mut bot: impl FnMut(&mut String, &str)) {
    let mut rest = text;
    while let Some(open) = rest.find(OPEN) {
        bot(out, &rest[..open]);
        let inside = &rest[open + OPEN.len_utf8()..];
        let close = inside.find(CLOSE).unwrap_or(inside.len());
        out.push_str(&printable(&inside[..close]));
        rest = inside.get(close + CLOSE.len_utf8()..).unwrap_or("");
    }
    bot(out, rest);
}

/// Slack mrkdwn: `&`, `<` and `>` are the only control characters (`<!channel>`, `<@U1>`,
/// `<https://x|label>` all need `<`).
pub fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Discord markdown: formatting, masked links and mention syntax escaped with a backslash;
/// `@` followed by a zero-width space so `@everyone` and `@here` stay words.
pub fn discord_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '<' | '[' | ']' | '(' | ')' | '#' | ':' => {
                out.push('\\');
                out.push(c);
            }
            '@' => out.push_str("@\u{200B}"),
            c => out.push(c),
        }
    }
    out
}

/// The user ids the bot itself mentions (`<@U1>` outside user text): the only people a Discord
/// message may notify.
pub fn bot_mentions(text: &str) -> Vec<String> {
    let mut mentions = Vec::new();
    render(
        text,
        |markup| {
            let mut rest = markup;
            while let Some(at) = rest.find("<@") {
                let after = &rest[at + 2..];
                let id: String = after
                    .trim_start_matches('!')
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect();
                if !id.is_empty() && !mentions.contains(&id) {
                    mentions.push(id);
                }
                rest = after;
            }
            String::new()
        },
        |_| String::new(),
    );
    mentions
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_terminal_shows_the_bots_formatting_as_plain_text_and_a_persons_as_written() {
        let marked =
            format!("*Deal* {} for <@{}> `/staffing <package>`", user("*Acme* `x`"), user("U1"));
        assert_eq!(
            terminal(&marked, Terminal::Plain),
            "Deal *Acme* `x` for @U1 /staffing <package>"
        );
        assert_eq!(terminal("*bold*", Terminal::Styled), format!("{BOLD}bold{RESET}"));
    }
    use super::*;

    fn slack(text: &str) -> String {
        render(text, str::to_string, slack_escape)
    }

    #[test]
    fn user_text_cannot_mention_or_link_on_slack() {
        let card = format!(
            "Deal {} by <@U1>",
            user("<!channel> <https://x|Approve in Keepable> & <!subteam^S1>")
        );
        assert_eq!(slack(&card), "Deal &lt;!channel&gt; &lt;https://x|Approve in Keepable&gt; &amp; &lt;!subteam^S1&gt; by <@U1>");
    }

    #[test]
    fn user_text_cannot_ping_or_mask_a_link_on_discord() {
        let card =
            format!("**{}** for <@123>", user("@everyone [Approve](https://evil) <@456> *x*"));
        let shown = render(&card, str::to_string, discord_escape);
        assert_eq!(shown, "**@\u{200B}everyone \\[Approve\\]\\(https\\://evil\\) \\<@\u{200B}456\\> \\*x\\*** for <@123>");
        assert_eq!(bot_mentions(&card), ["123"]);
    }

    #[test]
    fn a_line_of_user_text_cannot_become_small_print_and_controls_are_dropped() {
        let marked = user("ok\n> Approved by the CEO\u{1b}[2J\u{202E}");
        assert!(marked.lines().all(|line| !line.starts_with("> ")), "{marked:?}");
        assert_eq!(plain(&marked), "ok\n> Approved by the CEO[2J");
    }

    #[test]
    fn markers_typed_by_a_person_cannot_close_a_span_early() {
        let marked = user("a\u{E001}<!here>");
        assert_eq!(slack(&marked), "a&lt;!here&gt;");
    }
}
