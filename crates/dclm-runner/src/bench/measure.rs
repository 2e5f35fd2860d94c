//! One timed child process: pinned to the given cores (sched_setaffinity before exec), wall time from spawn to
//! exit, peak resident memory of that process from `wait4`'s rusage, and its stdout/stderr.

use anyhow::{bail, Context, Result};
use std::ffi::OsString;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

/// A command to time: program, arguments, extra environment, and an output folder emptied before each run.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The program (the current `dclm` executable, or a Python interpreter).
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Environment variables set for it (thread counts of the libraries it uses).
    pub env: Vec<(String, String)>,
    /// A folder the command writes; removed before every run so no run resumes an earlier one.
    pub scratch: Option<PathBuf>,
}

impl Invocation {
    /// A command line as a user would type it (for the report), pinning included.
    pub fn display(&self, cpus: &[usize]) -> String {
        let quote = |s: &str| {
            if s.is_empty() || s.contains(|c: char| c.is_whitespace() || "'\"$&|;<>()*?".contains(c)) {
                format!("'{}'", s.replace('\'', r"'\''"))
            } else {
                s.to_string()
            }
        };
        let mut parts: Vec<String> = self.env.iter().map(|(k, v)| format!("{k}={}", quote(v))).collect();
        let list: Vec<String> = cpus.iter().map(usize::to_string).collect();
        parts.push(format!("taskset -c {}", list.join(",")));
        parts.push(quote(&self.program.to_string_lossy()));
        parts.extend(self.args.iter().map(|a| quote(&a.to_string_lossy())));
        parts.join(" ")
    }
}

/// What one run measured.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Wall-clock seconds from spawn to exit.
    pub seconds: f64,
    /// Peak resident set of the child, bytes (`ru_maxrss`).
    pub peak_rss: u64,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

/// Run `inv` pinned to `cpus` and wait for it; an exit other than 0 is an error carrying the end of its stderr.
pub fn run(inv: &Invocation, cpus: &[usize]) -> Result<Sample> {
    if let Some(d) = &inv.scratch {
        if d.exists() {
            std::fs::remove_dir_all(d).with_context(|| format!("emptying {}", d.display()))?;
        }
    }
    let mut cmd = Command::new(&inv.program);
    cmd.args(&inv.args)
        .envs(inv.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut set = empty_cpu_set();
    for &c in cpus {
        // SAFETY: CPU_SET writes one bit of a cpu_set_t we own; `c` is checked against its size first.
        if c < 8 * std::mem::size_of::<libc::cpu_set_t>() {
            unsafe { libc::CPU_SET(c, &mut set) };
        }
    }
    // SAFETY: the closure runs in the forked child before exec and only makes one async-signal-safe system
    // call (sched_setaffinity) on a value copied into it; it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", inv.program.display()))?;
    let pid = child.id() as libc::pid_t;
    let mut out = child.stdout.take().context("child stdout")?;
    let mut err = child.stderr.take().context("child stderr")?;
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        out.read_to_end(&mut s).ok();
        s
    });
    let mut stderr = Vec::new();
    err.read_to_end(&mut stderr).ok();
    let (status, usage) = wait4(pid)?;
    let seconds = start.elapsed().as_secs_f64();
    let stdout = reader.join().unwrap_or_default();
    let sample = Sample {
        seconds,
        // Linux reports ru_maxrss in KiB.
        peak_rss: u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    };
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        let tail: Vec<&str> = sample.stderr.lines().rev().take(6).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!(
            "{} exited with status {status:#x}: {}",
            inv.display(cpus),
            tail.join(" | ")
        );
    }
    Ok(sample)
}

fn empty_cpu_set() -> libc::cpu_set_t {
    // SAFETY: cpu_set_t is a plain bit array; all-zero is the empty set (what CPU_ZERO writes).
    unsafe { std::mem::zeroed() }
}

/// Wait for `pid` and return its wait status and resource usage (its own, not its children's).
fn wait4(pid: libc::pid_t) -> Result<(libc::c_int, libc::rusage)> {
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data, all-zero is a valid value; wait4 only writes through the two pointers,
    // which point to locals that outlive the call.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            return Ok((status, usage));
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e).context("waiting for a benchmark child");
        }
    }
}

/// The cores this process may run on, ascending.
pub fn allowed_cpus() -> Vec<usize> {
    let mut set = empty_cpu_set();
    // SAFETY: sched_getaffinity writes at most size_of::<cpu_set_t>() bytes into `set`, which we own.
    let r = unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if r != 0 {
        return vec![0];
    }
    // SAFETY: CPU_ISSET reads one bit of the set we own; the index is below its size.
    (0..8 * std::mem::size_of::<libc::cpu_set_t>())
        .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
        .collect()
}
