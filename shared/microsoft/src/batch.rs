//! What Graph's and Exchange's `$batch` share: sub-answers throttled one by one (a 429 inside a
//! 200), and a chunk's answers collected across retries, so that only what is still throttled
//! is sent again, after the longest `Retry-After`.

use std::{collections::BTreeMap, sync::Mutex, time::Duration};

use chrono::Utc;
use model::retry::parse_retry_after;

/// One sub-answer of a `$batch`.
pub trait SubAnswer: Clone {
    /// Its HTTP status.
    fn status(&self) -> u16;

    /// Its headers.
    fn headers(&self) -> &BTreeMap<String, String>;

    /// Whether it is worth sending again: throttled or unavailable.
    fn is_throttled(&self) -> bool {
        matches!(self.status(), 429 | 503 | 504)
    }

    /// Its `Retry-After`, in whatever case the header is named.
    fn retry_after(&self) -> Option<Duration> {
        let value = self
            .headers()
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
            .map(|(_, v)| v)?;
        parse_retry_after(value, Utc::now())
    }
}

/// The answers of one chunk so far, by request index.
pub struct Collected<T>(Mutex<Vec<Option<T>>>);

impl<T: SubAnswer> Collected<T> {
    /// Nothing answered yet of `len` requests.
    pub fn new(len: usize) -> Self {
        Self(Mutex::new(vec![None; len]))
    }

    /// The requests to send (again): not answered yet, or throttled.
    pub fn pending(&self) -> Vec<usize> {
        let done = self.0.lock().unwrap_or_else(|p| p.into_inner());
        (0..done.len())
            .filter(|i| done[*i].as_ref().is_none_or(T::is_throttled))
            .collect()
    }

    /// Keeps the answer of request `index` (an index past the chunk is ignored).
    pub fn record(&self, index: usize, answer: T) {
        let mut done = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = done.get_mut(index) {
            *slot = Some(answer);
        }
    }

    /// How many answers are throttled and the longest delay they ask for; `None` if none is.
    pub fn throttled(&self) -> Option<(usize, Option<Duration>)> {
        let done = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let throttled: Vec<&T> = done.iter().flatten().filter(|a| a.is_throttled()).collect();
        (!throttled.is_empty()).then(|| {
            (
                throttled.len(),
                throttled.iter().filter_map(|a| a.retry_after()).max(),
            )
        })
    }

    /// The answers in request order; `missing(index)` is the error for a request the service
    /// never answered.
    pub fn finish<E>(self, missing: impl Fn(usize) -> E) -> Result<Vec<T>, E> {
        let answers = self.0.into_inner().unwrap_or_else(|p| p.into_inner());
        answers
            .into_iter()
            .enumerate()
            .map(|(index, answer)| answer.ok_or_else(|| missing(index)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone)]
    struct Answer(u16, BTreeMap<String, String>);

    impl SubAnswer for Answer {
        fn status(&self) -> u16 {
            self.0
        }
        fn headers(&self) -> &BTreeMap<String, String> {
            &self.1
        }
    }

    #[test]
    fn only_unanswered_and_throttled_requests_are_sent_again() {
        let collected = Collected::new(3);
        assert_eq!(collected.pending(), [0, 1, 2]);
        collected.record(0, Answer(200, BTreeMap::new()));
        collected.record(
            1,
            Answer(429, [("Retry-After".to_owned(), "2".to_owned())].into()),
        );
        collected.record(
            2,
            Answer(503, [("retry-after".to_owned(), "0.5".to_owned())].into()),
        );
        collected.record(7, Answer(200, BTreeMap::new()));
        assert_eq!(collected.pending(), [1, 2]);
        assert_eq!(collected.throttled(), Some((2, Some(Duration::from_secs(2)))));
        collected.record(1, Answer(204, BTreeMap::new()));
        collected.record(2, Answer(404, BTreeMap::new()));
        assert_eq!(collected.throttled(), None);
        assert_eq!(collected.finish(|i| i).map(|all| all.len()), Ok(3));
        let unanswered = Collected::<Answer>::new(2);
        unanswered.record(0, Answer(200, BTreeMap::new()));
        assert_eq!(unanswered.finish(|i| i).err(), Some(1));
    }
}
