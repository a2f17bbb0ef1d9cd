//! A run's watch on its cluster. Ballista's scheduler queues a job until an executor takes its
//! tasks: a job submitted while no executor is registered waits for ever (the scheduler fails a
//! running job only when the executors it was running on are all lost). So the client asks the
//! scheduler's readiness probe (`GET /readyz` on its gRPC port, "ready: 2 executors registered")
//! before a run and while each stage and audit runs, and gives up after the run's executor wait
//! with [`StrataError::ClusterStalled`], the remaining stages skipped and nothing published.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::prelude::SessionContext;

use crate::error::{Result, StrataError};
use crate::model::SchedulerUrl;

/// How often the scheduler is asked while something waits on it.
const POLL: Duration = Duration::from_secs(2);
/// How long the cluster may be without executors before the client says it waits.
const ANNOUNCE: Duration = Duration::from_secs(4);

/// The scheduler a run's session sends its queries to, and how long the run waits for it to
/// have an executor. Kept in the session's configuration (an extension), so that
/// [`ClusterWatch::of`] finds it from the session alone.
#[derive(Debug)]
pub struct ClusterWatch {
    scheduler: SchedulerUrl,
    wait: Duration,
    client: reqwest::Client,
}

/// What the readiness probe said.
enum Readiness {
    /// Live executors registered with the scheduler.
    Executors(usize),
    /// The scheduler has no readiness probe (not Ballista 55's): nothing to watch.
    Unknown,
}

impl ClusterWatch {
    pub fn new(scheduler: SchedulerUrl, wait: Duration) -> ClusterWatch {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        ClusterWatch {
            scheduler,
            wait,
            client,
        }
    }

    /// The watch of a session built by [`super::remote_session`]; `None` for the embedded
    /// engine.
    pub fn of(ctx: &SessionContext) -> Option<Arc<ClusterWatch>> {
        ctx.state().config().get_extension::<ClusterWatch>()
    }

    /// Waits until the scheduler has an executor, for the executor wait at most.
    pub async fn ready(&self) -> Result<()> {
        self.stalled(true)
            .await
            .map_err(|state| self.stall(&state, None))
    }

    /// `work`'s result, unless the cluster cannot run anything for the executor wait first:
    /// then [`StrataError::ClusterStalled`] (and `work` is dropped, which abandons its job).
    /// The scheduler is asked before `work` starts and every two seconds while it runs;
    /// `during` names the work in the error ("stage `dwd_order`").
    ///
    /// With `losses` (a stage's write), also [`StrataError::ExecutorLost`] when fewer
    /// executors are registered while `work` runs, or once it has finished, than when it
    /// started: Ballista 55's recovery from a lost executor re-runs tasks over shuffle inputs
    /// it may then read twice, and a write re-run that way produced duplicated rows whose count
    /// it reported as its own (found by freezing and killing executors during a write), so such
    /// an output is not trusted.
    pub async fn guard<T>(
        &self,
        during: &str,
        losses: bool,
        work: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        // No executor now: wait for one before `work` submits anything.
        if let Err(state) = self.stalled(true).await {
            return Err(self.stall(&state, Some(during)));
        }
        let before = match losses {
            true => self.live().await,
            false => None,
        };
        let lost = async {
            let Some(before) = before else {
                return std::future::pending::<usize>().await;
            };
            loop {
                tokio::time::sleep(POLL).await;
                match self.live().await {
                    Some(now) if now < before => return now,
                    _ => {}
                }
            }
        };
        let output = tokio::select! {
            result = work => result?,
            stalled = self.stalled(false) => {
                let state = stalled.err().unwrap_or_default();
                return Err(self.stall(&state, Some(during)));
            }
            after = lost => return Err(self.lost(during, before, after)),
        };
        if let (Some(b), Some(now)) = (before, self.live().await)
            && now < b
        {
            return Err(self.lost(during, before, now));
        }
        Ok(output)
    }

    /// The number of live executors, when the scheduler answers its readiness probe.
    async fn live(&self) -> Option<usize> {
        match self.readiness().await {
            Ok(Readiness::Executors(n)) => Some(n),
            _ => None,
        }
    }

    fn lost(&self, during: &str, before: Option<usize>, after: usize) -> StrataError {
        StrataError::ExecutorLost {
            scheduler: self.scheduler.to_string(),
            during: during.to_string(),
            before: before.unwrap_or_default(),
            after,
        }
    }

    /// With `until_ready`, returns `Ok` as soon as the cluster has an executor; otherwise
    /// watches for ever (`Ok` too when the scheduler has no readiness probe). Either way
    /// returns the cluster's state once it has had no executor (or no answering scheduler) for
    /// the whole executor wait.
    async fn stalled(&self, until_ready: bool) -> std::result::Result<(), String> {
        let mut since: Option<Instant> = None;
        let mut announced = false;
        loop {
            let state = match self.readiness().await {
                Ok(Readiness::Unknown) => {
                    if !until_ready {
                        std::future::pending::<()>().await;
                    }
                    return Ok(());
                }
                Ok(Readiness::Executors(n)) if n > 0 => None,
                Ok(Readiness::Executors(_)) => {
                    Some("no executor is registered with the scheduler".to_string())
                }
                Err(reason) => Some(format!("the scheduler does not answer ({reason})")),
            };
            match state {
                None if until_ready => return Ok(()),
                None => {
                    if announced {
                        tracing::warn!("the Ballista cluster at {} runs again", self.scheduler);
                    }
                    since = None;
                    announced = false;
                }
                Some(state) => {
                    let first = *since.get_or_insert_with(Instant::now);
                    let waited = first.elapsed();
                    if waited >= self.wait {
                        return Err(state);
                    }
                    if !announced && waited >= ANNOUNCE {
                        tracing::warn!(
                            "{state} at {}; waiting up to {} s (`executor_wait_seconds`)",
                            self.scheduler,
                            self.wait.as_secs()
                        );
                        announced = true;
                    }
                }
            }
            tokio::time::sleep(POLL).await;
        }
    }

    fn stall(&self, state: &str, during: Option<&str>) -> StrataError {
        StrataError::ClusterStalled {
            scheduler: self.scheduler.to_string(),
            during: during
                .map(|d| format!(" while {d} ran"))
                .unwrap_or_default(),
            waited_seconds: self.wait.as_secs(),
            state: state.to_string(),
        }
    }

    /// `GET /readyz`: "ready: N executors registered" (200) or "not ready: N/M executors
    /// registered" (503), Ballista 55's scheduler probe on its gRPC port.
    async fn readiness(&self) -> std::result::Result<Readiness, String> {
        let url = format!("{}/readyz", super::scheduler_endpoint(&self.scheduler));
        let response = self
            .client
            .get(&url)
            .send()
            .await
            .map_err(|e| crate::error::chain_text(&e))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(Readiness::Unknown);
        }
        let body = response
            .text()
            .await
            .map_err(|e| crate::error::chain_text(&e))?;
        parse_readiness(&body)
            .map(Readiness::Executors)
            .ok_or_else(|| format!("{url} answered {status}: {}", body.trim()))
    }
}

/// The number of live executors in the readiness probe's text.
fn parse_readiness(body: &str) -> Option<usize> {
    let rest = body
        .trim()
        .strip_prefix("not ready: ")
        .or_else(|| body.trim().strip_prefix("ready: "))?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::parse_readiness;

    #[test]
    fn readiness_texts_of_ballista_55() {
        // The two texts of ballista-scheduler 55.0.0's api/health.rs.
        assert_eq!(parse_readiness("ready: 2 executors registered\n"), Some(2));
        assert_eq!(
            parse_readiness("not ready: 0/1 executors registered\n"),
            Some(0)
        );
        assert_eq!(
            parse_readiness("not ready: 1/3 executors registered"),
            Some(1)
        );
        assert_eq!(parse_readiness("<html>bad gateway</html>"), None);
        assert_eq!(parse_readiness("ready: executors"), None);
    }
}
