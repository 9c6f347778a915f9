//! Commit message trailers (`Signed-off-by: …`), following git's rules
//! (`git interpret-trailers`): the trailers are the last paragraph of the
//! message when every line of it is a `Key: value` trailer or the
//! continuation (indented) of one, or when at least a quarter of its lines
//! are trailers and one of them is a trailer git itself writes.

use crate::facts::Trailer;

/// Trailers git recognises even in a block that also holds other lines.
const GIT_TRAILERS: [&str; 2] = ["Signed-off-by", "(cherry picked from commit"];

fn trailer_line(line: &str) -> Option<(&str, &str)> {
    let (key, value) = line.split_once(':')?;
    let key_ok = !key.is_empty()
        && !key.ends_with(' ')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    key_ok.then(|| (key, value.trim()))
}

pub fn parse_trailers(message: &str) -> Vec<Trailer> {
    // Everything after a `---` line or a scissors line is not the message.
    let body = message.trim_end();
    let last = body.rsplit("\n\n").next().unwrap_or("");
    // The subject line is never a trailer block.
    if last.len() == body.len() {
        return Vec::new();
    }
    let lines: Vec<&str> = last.lines().collect();
    let mut trailers: Vec<Trailer> = Vec::new();
    let mut others = 0usize;
    let mut git_written = false;
    for line in &lines {
        if line.starts_with([' ', '\t']) {
            if let Some(t) = trailers.last_mut() {
                t.value.push(' ');
                t.value.push_str(line.trim());
                continue;
            }
            others += 1;
        } else if let Some((key, value)) = trailer_line(line) {
            git_written |= GIT_TRAILERS.iter().any(|g| g.eq_ignore_ascii_case(key));
            trailers.push(Trailer {
                key: key.to_string(),
                value: value.to_string(),
            });
        } else if line.starts_with(GIT_TRAILERS[1]) {
            git_written = true;
            others += 1;
        } else {
            others += 1;
        }
    }
    let total = trailers.len() + others;
    let accepted = others == 0 || (git_written && trailers.len() * 4 >= total);
    if total > 0 && !trailers.is_empty() && accepted {
        trailers
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(message: &str) -> Vec<(String, String)> {
        parse_trailers(message)
            .into_iter()
            .map(|t| (t.key, t.value))
            .collect()
    }

    #[test]
    fn last_paragraph_of_trailers() {
        let t = keys("Add x\n\nBody text.\n\nSigned-off-by: A <a@x>\nReviewed-by: B <b@x>\n");
        assert_eq!(t.len(), 2);
        assert_eq!(t[0], ("Signed-off-by".into(), "A <a@x>".into()));
    }

    #[test]
    fn subject_and_prose_are_not_trailers() {
        assert!(keys("Fix: the bug").is_empty());
        assert!(keys("Add x\n\nThis fixes: the thing and more prose here\nand here").is_empty());
    }

    #[test]
    fn continuation_lines_join_the_value() {
        let t = keys("S\n\nCo-authored-by: A\n  Long <a@x>\n");
        assert_eq!(t[0].1, "A Long <a@x>");
    }

    #[test]
    fn mixed_block_needs_a_git_trailer() {
        let t = keys("S\n\nSigned-off-by: A <a@x>\nsome note\n");
        assert_eq!(t.len(), 1);
        assert!(keys("S\n\nTicket: X-1\nsome note\nmore\n").is_empty());
    }
}
