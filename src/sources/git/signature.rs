//! Signatures on commits and tags, and the exact bytes they sign.
//!
//! The payload must be byte-exact — what `git verify-commit` / `git verify-tag`
//! hand to gpg or ssh-keygen — because the signing rules verify against it. So
//! this works on the raw object bytes, the way git's `parse_buffer_signed_by_header`
//! and `parse_signed_buffer` do, rather than re-serialising a decoded object.

use gix::bstr::ByteSlice as _;

/// Armor lines that start a signature, and the format they belong to (git's
/// `gpg-interface.c` `sigs` tables).
const SIGNATURE_STARTS: [(&str, &str); 4] = [
    ("-----BEGIN PGP SIGNATURE-----", "openpgp"),
    ("-----BEGIN PGP MESSAGE-----", "openpgp"),
    ("-----BEGIN SIGNED MESSAGE-----", "x509"),
    ("-----BEGIN SSH SIGNATURE-----", "ssh"),
];

/// The header that carries a commit's signature in a SHA-1 repository.
const GPGSIG: &[u8] = b"gpgsig";

/// `ssh`, `openpgp` or `x509` for an armored signature; `None` when it starts
/// with none of the known armor lines.
pub fn signature_format(armored: &[u8]) -> Option<&'static str> {
    SIGNATURE_STARTS
        .iter()
        .find(|(start, _)| armored.starts_with(start.as_bytes()))
        .map(|(_, format)| *format)
}

/// Split a raw commit object into (the signed payload, the signature), like
/// git's `parse_buffer_signed_by_header`: the payload is the object without
/// its `gpgsig` header(s) and their continuation lines (and without headers of
/// other signature kinds such as `gpgsig-sha256`); the signature is the
/// header's value with the one leading space of each continuation line
/// removed. `None` when unsigned.
pub fn strip_gpgsig_header(raw: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    // Most commits are unsigned: look for the header before copying anything.
    let headers_end = raw.find(b"\n\n").map_or(raw.len(), |i| i + 1);
    let headers = &raw[..headers_end];
    if !headers.starts_with(GPGSIG) && headers.find(b"\ngpgsig").is_none() {
        return None;
    }
    let mut payload = Vec::with_capacity(raw.len());
    let mut signature = Vec::new();
    let (mut in_signature, mut saw_signature, mut other_signature) = (false, false, false);
    let mut line = 0;
    while line < raw.len() {
        let mut next = raw[line..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(raw.len(), |i| line + i + 1);
        let text = &raw[line..next];
        let sig = if in_signature && text.first() == Some(&b' ') {
            Some(line + 1)
        } else if text.starts_with(GPGSIG) && text.get(GPGSIG.len()) == Some(&b' ') {
            other_signature = false;
            Some(line + GPGSIG.len() + 1)
        } else {
            if text.starts_with(GPGSIG) {
                other_signature = true;
            } else if other_signature && text.first() != Some(&b' ') {
                other_signature = false;
            }
            None
        };
        match sig {
            Some(start) => {
                signature.extend_from_slice(&raw[start..next]);
                saw_signature = true;
                in_signature = true;
            }
            None => {
                if text.first() == Some(&b'\n') {
                    // The end of the headers: the message follows untouched.
                    next = raw.len();
                }
                if !other_signature {
                    payload.extend_from_slice(&raw[line..next]);
                }
                in_signature = false;
            }
        }
        line = next;
    }
    saw_signature.then_some((payload, signature))
}

/// Split a tag object's raw bytes at its signature: (the signed payload, the
/// signature), like git's `parse_signed_buffer` (the last line starting with a
/// known armor line starts the signature). `None` when unsigned.
pub fn split_signed_tag(raw: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut matched = None;
    let mut pos = 0;
    while pos < raw.len() {
        if signature_format(&raw[pos..]).is_some() {
            matched = Some(pos);
        }
        pos = raw[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(raw.len(), |i| pos + i + 1);
    }
    matched.map(|m| raw.split_at(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNED: &[u8] = b"tree 1111\nparent 2222\nauthor A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\ngpgsig -----BEGIN SSH SIGNATURE-----\n abc\n \n -----END SSH SIGNATURE-----\nmergetag object 3\n x\n\nmsg\n gpgsig not a header\n";

    #[test]
    fn strips_the_header_and_its_continuations_only() {
        let (payload, sig) = strip_gpgsig_header(SIGNED).unwrap();
        assert_eq!(
            payload,
            b"tree 1111\nparent 2222\nauthor A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\nmergetag object 3\n x\n\nmsg\n gpgsig not a header\n"
        );
        assert_eq!(
            sig,
            b"-----BEGIN SSH SIGNATURE-----\nabc\n\n-----END SSH SIGNATURE-----\n"
        );
        assert_eq!(signature_format(&sig), Some("ssh"));
    }

    #[test]
    fn formats_are_told_by_their_armor() {
        assert_eq!(
            signature_format(b"-----BEGIN PGP SIGNATURE-----\n"),
            Some("openpgp")
        );
        assert_eq!(
            signature_format(b"-----BEGIN PGP MESSAGE-----\n"),
            Some("openpgp")
        );
        assert_eq!(
            signature_format(b"-----BEGIN SIGNED MESSAGE-----\n"),
            Some("x509")
        );
        assert_eq!(
            signature_format(b"-----BEGIN SSH SIGNATURE-----\n"),
            Some("ssh")
        );
        assert_eq!(signature_format(b"garbage"), None);
    }

    #[test]
    fn other_signature_headers_are_left_out_of_the_payload() {
        let raw = b"tree 1\ngpgsig-sha256 -----BEGIN SSH SIGNATURE-----\n x\n -----END SSH SIGNATURE-----\ngpgsig -----BEGIN PGP SIGNATURE-----\n y\n -----END PGP SIGNATURE-----\nauthor A <a@x> 1 +0000\n\nm\n";
        let (payload, sig) = strip_gpgsig_header(raw).unwrap();
        assert_eq!(payload, b"tree 1\nauthor A <a@x> 1 +0000\n\nm\n");
        assert_eq!(
            sig,
            b"-----BEGIN PGP SIGNATURE-----\ny\n-----END PGP SIGNATURE-----\n"
        );
    }

    #[test]
    fn unsigned_commits_have_no_signature() {
        assert!(strip_gpgsig_header(b"tree 1\nauthor A <a@x> 1 +0000\n\ngpgsig x\n").is_none());
    }

    #[test]
    fn tag_signature_is_the_last_armor_block() {
        let raw = b"object 1\ntype commit\ntag v1\ntagger T <t@x> 1 +0000\n\nRelease\n-----BEGIN PGP SIGNATURE-----\nx\n-----END PGP SIGNATURE-----\n";
        let (payload, sig) = split_signed_tag(raw).unwrap();
        assert!(payload.ends_with(b"Release\n"));
        assert_eq!(signature_format(sig), Some("openpgp"));
        assert!(split_signed_tag(b"object 1\n\nRelease\n").is_none());
    }
}
