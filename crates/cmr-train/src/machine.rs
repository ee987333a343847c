//! What a result was computed on: the machine, the device, the versions, and the CPU time a
//! process used (so that timings on a shared machine can be read).

use serde::{Deserialize, Serialize};

/// The machine and software a run used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MachineInfo {
    /// Operating system and architecture (`linux x86_64`).
    pub os: String,
    /// CPU model (Linux: `/proc/cpuinfo`).
    pub cpu: Option<String>,
    /// Logical CPUs available to this process.
    pub logical_cpus: usize,
    /// Physical memory, GiB (Linux: `/proc/meminfo`).
    pub memory_gib: Option<f64>,
    /// Whether libtorch sees a CUDA device, and how many.
    pub cuda_devices: i64,
    /// Whether cuDNN is available.
    pub cudnn: bool,
    /// libtorch intra-op threads of the calling thread.
    pub torch_threads: i32,
    /// Versions: cmr-train and the tch binding.
    pub versions: std::collections::BTreeMap<String, String>,
}

impl MachineInfo {
    /// Describes this machine.
    pub fn current() -> Self {
        let cpu = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        });
        let memory_gib = std::fs::read_to_string("/proc/meminfo").ok().and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
                .map(|kb| kb / (1024.0 * 1024.0))
        });
        let versions = [
            ("cmr-train", env!("CARGO_PKG_VERSION")),
            ("tch", "0.26"),
            ("libtorch", "2.13.0 (the version tch 0.26 requires)"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        Self {
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            cpu,
            logical_cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_gib,
            cuda_devices: if tch::Cuda::is_available() {
                tch::Cuda::device_count()
            } else {
                0
            },
            cudnn: tch::Cuda::cudnn_is_available(),
            torch_threads: tch::get_num_threads(),
            versions,
        }
    }

    /// One line: `linux x86_64, 2 logical CPUs (Intel ...), 24 GiB, no CUDA device`.
    pub fn describe(&self) -> String {
        format!(
            "{}, {} logical CPUs{}{}, {}",
            self.os,
            self.logical_cpus,
            self.cpu
                .as_ref()
                .map_or(String::new(), |c| format!(" ({c})")),
            self.memory_gib
                .map_or(String::new(), |g| format!(", {g:.0} GiB")),
            if self.cuda_devices > 0 {
                format!("{} CUDA device(s)", self.cuda_devices)
            } else {
                "no CUDA device".into()
            }
        )
    }
}

/// CPU seconds (user + system) this process has used so far, all threads (Linux:
/// `/proc/self/stat`, in clock ticks of 1/100 s, the fixed USER_HZ of Linux's process
/// accounting); `None` elsewhere.
pub fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 (utime) and 15 (stime) of the whole line are 12 and 13 after the name.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_grows_with_work() {
        let Some(a) = process_cpu_seconds() else {
            return; // not Linux
        };
        let mut x = 0u64;
        let t = std::time::Instant::now();
        while t.elapsed().as_millis() < 300 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        let b = process_cpu_seconds().unwrap();
        // 0.3 s of busy work; the machine may be shared, so only a loose lower bound.
        assert!(b - a >= 0.05, "{a} -> {b}");
        let m = MachineInfo::current();
        assert!(m.logical_cpus >= 1 && m.describe().contains("logical CPUs"));
    }
}
