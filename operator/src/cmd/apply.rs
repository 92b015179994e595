//! `netwright apply`: reconcile a network to a file (through `service::apply`), showing the
//! plan first. Also the printing of a reconciliation that `netwright up` shares, and its
//! step view.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use netwright_operator::backend::local::LocalBackend;
use netwright_operator::backend::BackendError;
use netwright_operator::plan::{Digest, Plan};
use netwright_operator::reconcile::engine::DEFAULT_MAX_PASSES;
use netwright_operator::reconcile::{Options, Outcome, Progress, Report};
use netwright_operator::service::{self, ServiceError};

use super::plan::{load_spec, open_backend, LoadedSpec, NetworkFile};
use super::{
    block_on, exit_busy, exit_failed, exit_halted, exit_interrupted, exit_invalid, exit_ok,
    exit_refused, exit_usage, interrupt,
};

/// Arguments of `netwright apply`, and the reconciling part of `netwright up`'s.
#[derive(Debug, clap::Args)]
pub struct ReconcileArgs {
    #[command(flatten)]
    pub target: NetworkFile,
    /// Approve an unsafe plan by its digest (as `netwright plan` prints it).
    #[arg(long, value_name = "PLAN_DIGEST")]
    pub approve: Option<String>,
    /// Most passes (apply, observe, plan again) before giving up on converging.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_PASSES)]
    pub max_passes: usize,
}

/// Loads the file and reads the approval and the passes: what `apply` and `up` do before they
/// open the network. Invalid input is printed and returned as its exit code.
pub fn prepare(args: &ReconcileArgs) -> anyhow::Result<Result<(LoadedSpec, Options), ExitCode>> {
    let loaded = match load_spec(&args.target.file)? {
        Ok(loaded) => loaded,
        Err(code) => return Ok(Err(code)),
    };
    let approve = match parse_approval(args.approve.as_deref()) {
        Ok(approve) => approve,
        Err(code) => return Ok(Err(code)),
    };
    let options = Options {
        approve,
        max_passes: args.max_passes.max(1),
        ..Options::default()
    };
    Ok(Ok((loaded, options)))
}

/// Parses `--approve`; prints the error and returns the exit code when it is not a digest.
fn parse_approval(text: Option<&str>) -> Result<Option<Digest>, ExitCode> {
    match text.map(str::parse::<Digest>) {
        None => Ok(None),
        Some(Ok(digest)) => Ok(Some(digest)),
        Some(Err(error)) => {
            eprintln!("error: --approve: {error}");
            Err(exit_usage())
        }
    }
}

/// Runs `netwright apply`.
pub fn run(args: ReconcileArgs) -> anyhow::Result<ExitCode> {
    let (loaded, options) = match prepare(&args)? {
        Ok(prepared) => prepared,
        Err(code) => return Ok(code),
    };
    let home = &args.target.home;
    let mut backend = open_backend(home, &loaded.name, None)?;
    let mut view = StepView::new();
    let options = Options {
        cancel: interrupt()?,
        ..options
    };
    Ok(
        match reconcile_network(&mut backend, &loaded, home, &options, &mut view)? {
            Ok(report) => report_outcome(&report),
            Err(code) => code,
        },
    )
}

/// Reconciles `loaded` through `backend` with [`service::apply`] and prints where the
/// receipt went; refusals are printed and returned as their exit code (nothing changed then).
pub fn reconcile_network(
    backend: &mut LocalBackend,
    loaded: &LoadedSpec,
    home: &Path,
    options: &Options,
    progress: &mut dyn Progress,
) -> anyhow::Result<Result<Report, ExitCode>> {
    let dir = backend.network_dir().to_owned();
    match block_on(service::apply(
        home, &dir, backend, loaded, options, progress,
    ))? {
        Ok(applied) => {
            println!(
                "receipt: {} (seq {})",
                applied.receipt_log.display(),
                applied.receipt_seq
            );
            Ok(Ok(applied.report))
        }
        Err(error @ ServiceError::Busy(_)) => {
            eprintln!("refused: {error}; nothing was changed");
            Ok(Err(exit_busy()))
        }
        Err(ServiceError::Halted {
            network,
            halt,
            remedy,
        }) => {
            eprintln!("refused: reconciliation of {network} is halted: {halt}");
            eprintln!("what to do: {remedy}");
            eprintln!("nothing was changed");
            Ok(Err(exit_halted()))
        }
        Err(error @ ServiceError::Refused(_)) => {
            eprintln!("refused: {error}");
            eprintln!("nothing was changed");
            Ok(Err(exit_refused()))
        }
        Err(ServiceError::Plan { path, error }) => {
            eprintln!("{}: error: {error}", path.display());
            Ok(Err(exit_invalid()))
        }
        Err(ServiceError::Cancelled) => {
            eprintln!("interrupted: nothing was changed");
            Ok(Err(exit_interrupted()))
        }
        Err(error) => Err(error.into()),
    }
}

/// Prints how a reconciliation ended and returns its exit code.
pub fn report_outcome(report: &Report) -> ExitCode {
    let steps = report.steps_done();
    let passes = report.passes.iter().filter(|p| !p.done.is_empty()).count();
    match &report.outcome {
        Outcome::Converged => {
            if steps == 0 {
                println!("converged: nothing to do");
            } else {
                println!("converged: {steps} step(s) done in {passes} pass(es)");
            }
            exit_ok()
        }
        Outcome::Failed { pass, step, error } => {
            eprintln!("failed: pass {pass}, step {step}: {error}");
            exit_failed()
        }
        Outcome::NotConverged { reason } => {
            eprintln!("not converged: {reason}");
            exit_failed()
        }
        Outcome::Cancelled { pass, during } => {
            eprintln!(
                "interrupted in pass {pass}, {during}: {steps} step(s) were done and recorded; \
                 apply again to finish"
            );
            exit_interrupted()
        }
    }
}

/// Shows a reconciliation: the plan, then each step, as a progress bar on a terminal or as
/// plain lines otherwise.
#[derive(Debug)]
pub struct StepView {
    bar: Option<ProgressBar>,
    tty: bool,
}

impl Default for StepView {
    fn default() -> Self {
        Self::new()
    }
}

impl StepView {
    /// A view on standard output; a progress bar when it is a terminal.
    pub fn new() -> Self {
        Self {
            bar: None,
            tty: std::io::stdout().is_terminal(),
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Progress for StepView {
    fn plan(&mut self, pass: usize, plan: &Plan) {
        self.finish();
        if pass > 1 {
            println!(
                "pass {pass}: observed again, {} step(s) left",
                plan.steps.len()
            );
        }
        print!("{plan}");
        if self.tty && !plan.is_empty() {
            let bar = ProgressBar::new(plan.steps.len() as u64);
            let style = ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(120));
            self.bar = Some(bar);
        }
    }

    fn step_started(&mut self, _pass: usize, index: usize, plan: &Plan) {
        let Some(step) = plan.steps.get(index) else {
            return;
        };
        match &self.bar {
            Some(bar) => bar.set_message(step.action.canonical()),
            None => println!(
                "[{}/{}] {} ...",
                index + 1,
                plan.steps.len(),
                step.action.canonical()
            ),
        }
    }

    fn step_finished(
        &mut self,
        _pass: usize,
        index: usize,
        plan: &Plan,
        error: Option<&BackendError>,
    ) {
        let Some(step) = plan.steps.get(index) else {
            return;
        };
        let line = match error {
            None => format!(
                "[{}/{}] {} done",
                index + 1,
                plan.steps.len(),
                step.action.canonical()
            ),
            Some(e) => format!(
                "[{}/{}] {} FAILED: {e}",
                index + 1,
                plan.steps.len(),
                step.action.canonical()
            ),
        };
        match &self.bar {
            Some(bar) => {
                bar.println(line);
                bar.inc(1);
                if index + 1 == plan.steps.len() || error.is_some() {
                    self.finish();
                }
            }
            None => println!("{line}"),
        }
    }
}
