//! The tenant admin's browser, as far as the consent flow needs one: it opens a consent link,
//! answers the simulator's consent page with one of its buttons, and follows Microsoft's
//! redirect by hand, so each hop can be looked at.

/// An HTTP answer as a browser sees it.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status.
    pub status: u16,
    /// The headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
}

impl Answer {
    /// The value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A browser that follows no redirect by itself.
#[derive(Debug, Clone)]
pub struct Browser {
    http: reqwest::Client,
}

impl Default for Browser {
    fn default() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("an HTTP client"),
        }
    }
}

impl Browser {
    /// `GET url`.
    pub async fn get(&self, url: &str) -> Answer {
        answer(self.http.get(url).send().await.expect("GET")).await
    }

    /// Opens the consent link `url`, signed in as `account` (the page's admin when `None`), and
    /// presses `button` (`accept` or `cancel`): where Microsoft redirects to (the `Location`).
    pub async fn consent(&self, url: &str, account: Option<&str>, button: &str) -> String {
        let page = self.get(url).await;
        assert_eq!(page.status, 200, "the consent page: {}", page.body);
        let field = "name=\"login_hint\" value=\"";
        let at = page.body.find(field).expect("an account field") + field.len();
        let admin = page.body[at..].split('"').next().expect("its value").to_owned();
        let (path, query) = url.split_once('?').expect("the link has a query");
        let mut form: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        form.push(("login_hint".into(), account.map_or(admin, str::to_owned)));
        form.push((button.into(), button.into()));
        let answer = answer(self.http.post(path).form(&form).send().await.expect("the form")).await;
        assert_eq!(
            answer.status, 302,
            "the consent page answers with a redirect: {}",
            answer.body
        );
        answer.header("location").expect("a Location").to_owned()
    }
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    Answer {
        status,
        headers,
        body: response.text().await.expect("a body"),
    }
}
