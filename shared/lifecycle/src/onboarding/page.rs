//! The plain page the tenant's admin sees after answering the consent link: what happened, what
//! happens next or what to fix. Every value on it is escaped (Microsoft's text included), and it
//! loads nothing: no script, no style, no image.

use model::{task::TaskId, tenant::TenantId};

use super::OnboardingError;
use crate::verify::{Checklist, Status};

/// The headers of every page: nothing runs or loads, nothing is framed, cached or referred.
const HEADERS: [(&str, &str); 5] = [
    ("content-type", "text/html; charset=utf-8"),
    (
        "content-security-policy",
        "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
];

/// A result page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Its HTTP status.
    pub status: u16,
    /// The whole HTML document.
    pub html: String,
}

impl Page {
    fn new(status: u16, title: &str, body: &str) -> Self {
        let title = escape(title);
        Self {
            status,
            html: format!(
                "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
                 <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
                 <title>{title}</title></head>\n<body><h1>{title}</h1>\n{body}</body></html>\n"
            ),
        }
    }

    /// The headers it is served with: nothing runs or loads, nothing is framed, cached or referred.
    pub fn headers(&self) -> [(&'static str, &'static str); 5] {
        HEADERS
    }

    /// The answer was refused: nothing changed, and why. Only what the admin can act on is
    /// said; a fault of ours (names of keys, tables, hosts) stays in the log.
    pub fn refused(err: &OnboardingError) -> Self {
        let error_type = err.error_type();
        let (status, said) = match error_type {
            "InvalidInput" | "NotFound" => (400, err.to_string()),
            "Configuration" => (
                500,
                "The vendor's service is not configured to take consent answers: tell the vendor.".to_owned(),
            ),
            other => (
                503,
                format!(
                    "The answer could not be taken just now ({other}): open the consent link again in a few minutes."
                ),
            ),
        };
        let body = format!("<p>{}</p>\n<p>Nothing was changed.</p>\n", escape(&said));
        Self::new(status, "This consent answer was not accepted", &body)
    }

    /// The admin declined, or Entra refused the consent.
    pub fn declined(tenant: TenantId, error: &str, description: &str) -> Self {
        let body = format!(
            "<p>The app was not granted in tenant <code>{}</code>. Microsoft said:</p>\n\
             <p><code>{}</code>: {}</p>\n\
             <p>Nothing was provisioned. To try again, sign in as a Global Administrator of the \
             tenant and ask the vendor for a new consent link.</p>\n",
            escape(&tenant.to_string()),
            escape(error),
            escape(description)
        );
        Self::new(200, "Consent not granted", &body)
    }

    /// The admin granted the app: Verify's checklist, the provisioning started, or what to fix.
    pub fn granted(
        tenant: TenantId,
        checklist: Option<&Checklist>,
        task: Option<TaskId>,
        note: Option<&str>,
    ) -> Self {
        let mut body = format!(
            "<p>Consent was recorded for tenant <code>{}</code>.</p>\n",
            escape(&tenant.to_string())
        );
        if let Some(checklist) = checklist {
            body.push_str("<h2>Verify</h2>\n<ul>\n");
            for item in &checklist.items {
                let status = match item.status {
                    Status::Ok => "ok",
                    Status::Missing => "missing",
                    Status::Action => "action",
                };
                body.push_str(&format!(
                    "<li data-status=\"{status}\"><strong>{}</strong>: {status}: {}</li>\n",
                    escape(&item.name),
                    escape(&item.detail)
                ));
            }
            body.push_str("</ul>\n");
            if !checklist.grant_holds() {
                body.push_str(
                    "<p>The grant is not complete: reload this page in a few minutes, or open the \
                     new consent link in the list above as a Global Administrator of the tenant.</p>\n",
                );
            }
        }
        match (task, note) {
            (Some(task), _) => body.push_str(&format!(
                "<p>Provisioning has started (task <code>{}</code>). The vendor follows it; \
                 nothing more is needed from you unless an item above asks for an action.</p>\n",
                escape(&task.to_string())
            )),
            (None, Some(note)) => body.push_str(&format!("<p>{}</p>\n", escape(note))),
            (None, None) => {}
        }
        Self::new(200, "Consent granted", &body)
    }

    /// No page here.
    pub fn not_found() -> Self {
        Self::new(
            404,
            "Not found",
            "<p>Only the consent callback is served here.</p>\n",
        )
    }

    /// The callback answers `GET` only.
    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "Method not allowed",
            "<p>Microsoft answers the consent callback with GET.</p>\n",
        )
    }
}

/// `text` safe inside an HTML element or a quoted attribute.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn microsofts_text_is_shown_as_text() {
        let tenant: TenantId = "8eaef023-2b34-4da1-9baa-8bc8c9d6a490".parse().expect("tenant");
        let page = Page::declined(
            tenant,
            "access_denied\"><script>",
            "<img src=x onerror=alert(1)> & 'more'",
        );
        assert!(!page.html.contains("<script>"), "{}", page.html);
        assert!(!page.html.contains("<img"), "{}", page.html);
        assert!(
            page.html
                .contains("&lt;img src=x onerror=alert(1)&gt; &amp; &#39;more&#39;")
        );
        assert!(page.html.contains("access_denied&quot;&gt;&lt;script&gt;"));
    }

    #[test]
    fn a_fault_of_ours_is_not_described_to_the_admin() {
        let err = OnboardingError::from(state::seal::SealError::Kms {
            operation: "VerifyMac",
            key_id: "arn:aws:kms:us-east-1:123456789012:key/secret-name".to_owned(),
            reason: "AccessDeniedException".to_owned(),
            transient: false,
        });
        let page = Page::refused(&err);
        assert_eq!(page.status, 500);
        assert!(
            !page.html.contains("123456789012") && !page.html.contains("AccessDenied"),
            "{}",
            page.html
        );
        assert!(page.html.contains("Nothing was changed."));
    }
}
