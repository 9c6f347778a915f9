//! Who the repository is: host and slug from the `origin` remote's URL, and
//! the default branch when `origin/HEAD` says.

use gix::bstr::ByteSlice as _;

use super::read_error;
use crate::sources::SourceError;

/// The host of a repository without an `origin` remote.
pub const LOCAL_HOST: &str = "local";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteIdentity {
    pub host: String,
    pub slug: String,
    pub default_branch: Option<String>,
    /// Why the identity is local (`host` is [`LOCAL_HOST`]), for the user.
    pub local_reason: Option<&'static str>,
}

/// The start of the notice given when a repository is identified locally.
pub const LOCAL_IDENTITY_NOTICE: &str = "the repository is identified as";

pub(super) fn identity(repo: &gix::Repository) -> Result<RemoteIdentity, SourceError> {
    let default_branch = origin_head_target(repo)?.and_then(|name| {
        name.strip_prefix("refs/remotes/origin/")
            .map(str::to_string)
    });
    let url = repo
        .config_snapshot()
        .string("remote.origin.url")
        .map(|u| u.to_str_lossy().into_owned());
    if let Some((host, slug)) = url.as_deref().and_then(parse_remote_url) {
        return Ok(RemoteIdentity {
            host,
            slug,
            default_branch,
            local_reason: None,
        });
    }
    let dir = repo.workdir().unwrap_or_else(|| repo.git_dir());
    // `--repo .` gives a relative `.`, which has no name of its own.
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    // A bare repository's directory is usually `name.git`.
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "repository".to_string());
    Ok(RemoteIdentity {
        host: LOCAL_HOST.to_string(),
        slug: name.strip_suffix(".git").unwrap_or(&name).to_string(),
        default_branch,
        local_reason: Some(if url.is_some() {
            "its `origin` remote is a local path, not a hosted repository"
        } else {
            "it has no `origin` remote"
        }),
    })
}

/// The full ref name `refs/remotes/origin/HEAD` points at, if it is set.
pub(super) fn origin_head_target(repo: &gix::Repository) -> Result<Option<String>, SourceError> {
    let reference = repo
        .try_find_reference("refs/remotes/origin/HEAD")
        .map_err(|e| read_error("refs/remotes/origin/HEAD", e))?;
    Ok(reference.and_then(|r| {
        r.target()
            .try_name()
            .map(|n| n.as_bstr().to_str_lossy().into_owned())
    }))
}

/// Host and slug (`owner/name`, GitLab subgroups kept) of a remote URL:
/// scp-like `git@host:a/b.git`, `https://host/a/b(.git)`, `ssh://git@host:22/a/b.git`,
/// `git://…`. `None` for local paths and `file://` URLs.
pub fn parse_remote_url(url: &str) -> Option<(String, String)> {
    let url = url.trim();
    let (host, path) = if let Some((scheme, rest)) = url.split_once("://") {
        if scheme == "file" {
            return None;
        }
        let (authority, path) = rest.split_once('/')?;
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        // Strip a port (`host:22`); a bracketed IPv6 host ends with `]`.
        let host = match host.rsplit_once(':') {
            Some((h, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => host,
        };
        (host, path)
    } else {
        // scp-like syntax: `[user@]host:path`, recognised (like git) only
        // when a colon comes before any slash.
        let colon = url.find(':')?;
        if url[..colon].contains('/') {
            return None;
        }
        let host = &url[..colon];
        (
            host.rsplit_once('@').map_or(host, |(_, h)| h),
            &url[colon + 1..],
        )
    };
    let slug = path.trim_matches('/');
    let slug = slug
        .strip_suffix(".git")
        .unwrap_or(slug)
        .trim_end_matches('/');
    if host.is_empty() || slug.is_empty() {
        return None;
    }
    Some((host.to_ascii_lowercase(), slug.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(url: &str) -> Option<(String, String)> {
        parse_remote_url(url)
    }

    fn hs(h: &str, s: &str) -> Option<(String, String)> {
        Some((h.to_string(), s.to_string()))
    }

    #[test]
    fn remote_url_shapes() {
        assert_eq!(
            p("git@github.com:acme/api.git"),
            hs("github.com", "acme/api")
        );
        assert_eq!(
            p("https://github.com/acme/api"),
            hs("github.com", "acme/api")
        );
        assert_eq!(
            p("https://github.com/acme/api.git/"),
            hs("github.com", "acme/api")
        );
        assert_eq!(
            p("ssh://git@gitlab.example.com:2222/group/sub/proj.git"),
            hs("gitlab.example.com", "group/sub/proj")
        );
        assert_eq!(
            p("https://user:token@GitLab.com/g/p.git"),
            hs("gitlab.com", "g/p")
        );
        assert_eq!(p("/srv/git/repo.git"), None);
        assert_eq!(p("file:///srv/git/repo.git"), None);
        assert_eq!(p("../other"), None);
    }
}
