//! The VM: memslots, the shim and descriptor tables in the private region,
//! the guest CPUID, the MSR filter, and the shared state of its vCPUs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use kvm_bindings::{kvm_userspace_memory_region, CpuId, KVM_MAX_CPUID_ENTRIES};
use kvm_ioctls::{Cap, Kvm, MsrFilterDefaultAction, MsrFilterRange, MsrFilterRangeFlags, VmFd};
use spin_kernel::machine::{Arch, GuestRam, Machine, MachineError};
use vm_memory::{GuestAddress, GuestMemoryBackend, GuestMemoryRegion};

use super::backing::{Backing, PRIVATE_CHUNK, RAM_CHUNK};
use super::kick::{self, Target};
use super::layout::{private, LARGE_PAGE};
use super::paging::{Private, Tables};
use super::shim::{self, Shim};
use super::vcpu::KvmCpu;
use super::{tables, VcpuTelemetry, EXIT_REASONS};

/// Sizes of a KVM machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KvmConfig {
    /// Bytes of page-table pool (4 KiB frames for every mirrored address
    /// space; backed lazily by the host).
    pub table_pool: u64,
}

impl Default for KvmConfig {
    fn default() -> Self {
        KvmConfig {
            table_pool: 252 << 20,
        }
    }
}

/// Per-vCPU state other threads read: exit counters and how to kick it.
#[derive(Default)]
pub(super) struct VcpuShared {
    pub index: usize,
    pub exits: AtomicU64,
    pub reasons: [AtomicU64; EXIT_REASONS.len()],
    pub run_ns: AtomicU64,
    pub pte_ops: AtomicU64,
    /// ASID of the space the vCPU is running (0: none).
    pub asid: AtomicU64,
    pub target: Target,
}

impl VcpuShared {
    pub fn count(&self, reason: usize) {
        self.exits.fetch_add(1, Ordering::Relaxed);
        self.reasons[reason].fetch_add(1, Ordering::Relaxed);
    }

    fn telemetry(&self) -> VcpuTelemetry {
        VcpuTelemetry {
            index: self.index,
            exits: self.exits.load(Ordering::Relaxed),
            reasons: EXIT_REASONS
                .iter()
                .zip(&self.reasons)
                .map(|(n, c)| (n.to_string(), c.load(Ordering::Relaxed)))
                .collect(),
            run_ns: self.run_ns.load(Ordering::Relaxed),
            pte_ops: self.pte_ops.load(Ordering::Relaxed),
        }
    }
}

/// What every vCPU of a machine shares.
pub(super) struct Inner {
    pub vm: VmFd,
    pub ram: Arc<GuestRam>,
    pub private: Private,
    pub shim: Shim,
    pub cpuid: CpuId,
    pub tables: Mutex<Tables>,
    /// A PML4 with only the kernel half: CR3 before any space is loaded.
    pub boot_pml4: u64,
    pub vcpus: Mutex<Vec<Arc<VcpuShared>>>,
    pub msr_filter: bool,
    /// Bytes of a vCPU's XSAVE image (0: no `KVM_GET_XSAVE`).
    pub xsave_size: usize,
}

impl Inner {
    /// Kicks every other vCPU running `asid` (a TLB shootdown).
    pub fn shootdown(&self, asid: u64, me: usize) {
        let vcpus = self.vcpus.lock().unwrap_or_else(|e| e.into_inner());
        for v in vcpus.iter() {
            if v.index != me && v.asid.load(Ordering::Acquire) == asid {
                v.target.kick();
            }
        }
    }
}

/// The KVM machine (x86-64, 4 KiB pages).
pub struct KvmMachine {
    pub(super) inner: Arc<Inner>,
}

fn kvm_err(what: &str) -> impl Fn(kvm_ioctls::Error) -> MachineError + '_ {
    move |e| MachineError::Unavailable(format!("/dev/kvm: {what}: {e}"))
}

/// Checks that `/dev/kvm` is usable for this machine (creating a VM).
pub(super) fn probe() -> Result<(), String> {
    open()?
        .create_vm()
        .map(drop)
        .map_err(|e| format!("/dev/kvm cannot create a VM: {e}"))
}

/// Opens `/dev/kvm` and checks its API version and the capabilities the
/// machine relies on.
fn open() -> Result<Kvm, String> {
    let kvm = Kvm::new().map_err(|e| format!("/dev/kvm cannot be opened: {e}"))?;
    if kvm.get_api_version() != 12 {
        return Err(format!(
            "/dev/kvm speaks API version {}, not 12",
            kvm.get_api_version()
        ));
    }
    for (cap, name) in [
        (Cap::SyncRegs, "KVM_CAP_SYNC_REGS"),
        (Cap::ImmediateExit, "KVM_CAP_IMMEDIATE_EXIT"),
        (Cap::UserMemory, "KVM_CAP_USER_MEMORY"),
    ] {
        if !kvm.check_extension(cap) {
            return Err(format!("/dev/kvm lacks {name}"));
        }
    }
    Ok(kvm)
}

/// The guest's CPUID: what KVM supports, without VMX, SVM, XSAVE or AVX.
/// Leaf 0xD stays: KVM sizes the state `KVM_GET_XSAVE` exchanges by it,
/// and on PVM ring 3 sees the host's CPUID and uses AVX and AVX-512 anyway
/// (reference/kvm.md quirk 3), so each guest thread's FP state is the whole
/// XSAVE image, not the FXSAVE part a hidden XSAVE would suggest.
fn guest_cpuid(kvm: &Kvm) -> Result<CpuId, MachineError> {
    let mut cpuid = kvm
        .get_supported_cpuid(KVM_MAX_CPUID_ENTRIES)
        .map_err(kvm_err("KVM_GET_SUPPORTED_CPUID"))?;
    for e in cpuid.as_mut_slice() {
        match (e.function, e.index) {
            (1, _) => {
                // VMX (5), XSAVE (26), OSXSAVE (27), AVX (28).
                e.ecx &= !((1 << 5) | (1 << 26) | (1 << 27) | (1 << 28));
            }
            (7, 0) => {
                // AVX2 (5), AVX-512 (16..=31 in EBX; ECX/EDX parts too).
                e.ebx &= !((1 << 5) | 0xffff_0000);
                e.ecx &= !((1 << 1) | (1 << 6) | (1 << 11) | (1 << 12) | (1 << 14));
                e.edx &= !((1 << 2) | (1 << 3) | (1 << 8) | (1 << 23));
            }
            (0x8000_0001, _) => {
                // SVM (2).
                e.ecx &= !(1 << 2);
            }
            _ => {}
        }
    }
    Ok(cpuid)
}

impl KvmMachine {
    /// A VM whose guest RAM is `ram` (the kernel's), with default sizes.
    pub fn new(ram: Arc<GuestRam>) -> Result<KvmMachine, MachineError> {
        Self::with_config(ram, KvmConfig::default())
    }

    /// A VM whose guest RAM is `ram`, sized by `cfg`.
    pub fn with_config(ram: Arc<GuestRam>, cfg: KvmConfig) -> Result<KvmMachine, MachineError> {
        // One VM, no probe VM before it (a VM costs ~10 ms on PVM).
        let kvm = open().map_err(MachineError::Unavailable)?;
        kick::install().map_err(MachineError::Unavailable)?;
        let vm = kvm
            .create_vm()
            .map_err(|e| MachineError::Unavailable(format!("/dev/kvm cannot create a VM: {e}")))?;

        // Memslots 0..n: the kernel's RAM, region by region.
        let mut backing = Backing::default();
        let mut slot = 0u32;
        let mut ram_end = 0;
        for region in ram.iter() {
            let start = region.start_addr().0;
            let len = region.len();
            let host = ram
                .get_host_address(GuestAddress(start))
                .map_err(|e| MachineError::Ram(e.to_string()))?;
            // SAFETY: the region is a live mmap owned by `ram`, which the
            // machine keeps alive (Arc) for as long as the VM exists.
            unsafe {
                backing.add(start, len, host as u64, RAM_CHUNK);
                set_slot(&vm, slot, start, len, host as u64)
            }?;
            slot += 1;
            ram_end = ram_end.max(start + len);
        }

        // The private region, 2 MiB aligned above RAM.
        let gpa = ram_end.div_ceil(LARGE_PAGE) * LARGE_PAGE;
        let size = (private::POOL + cfg.table_pool).div_ceil(LARGE_PAGE) * LARGE_PAGE;
        if size > 512 * LARGE_PAGE {
            return Err(MachineError::Ram(format!(
                "a page-table pool of {} bytes does not fit the private region",
                cfg.table_pool
            )));
        }
        let mem = GuestRam::from_ranges(&[(GuestAddress(gpa), size as usize)])
            .map_err(|e| MachineError::Ram(e.to_string()))?;
        let host = mem
            .get_host_address(GuestAddress(gpa))
            .map_err(|e| MachineError::Ram(e.to_string()))?;
        // SAFETY: `mem` is owned by the machine's `Inner` alongside the VM.
        unsafe {
            backing.add(gpa, size, host as u64, PRIVATE_CHUNK);
            set_slot(&vm, slot, gpa, size, host as u64)
        }?;
        let private = Private { mem, gpa, size };

        // The fixed part of the private region is populated here, before
        // the shim and the descriptor tables are written into it.
        let mut tables = Tables::new(size, ram_end).with_backing(backing, gpa);
        let shim = shim::assemble()
            .map_err(|e| MachineError::Unavailable(format!("assembling the shim: {e}")))?;
        private.write(private::SHIM, &shim.code);
        private.write(private::IDT, &tables::idt(&shim.stubs));
        tables.init_kernel_half(&private);
        let boot_pml4 = tables
            .boot_pml4(&private)
            .ok_or_else(|| MachineError::Ram("the page-table pool is empty".into()))?;

        // Guest RDMSR/WRMSR: denied (the shim needs none; the host sets the
        // MSRs it wants with KVM_SET_MSRS, which the filter does not cover).
        // KVM refuses a deny-all filter without ranges, so one range
        // denies MSR 0 explicitly and the default denies the rest.
        let deny_msr0 = MsrFilterRange {
            flags: MsrFilterRangeFlags::READ | MsrFilterRangeFlags::WRITE,
            base: 0,
            msr_count: 1,
            bitmap: &[0],
        };
        let msr_filter = kvm.check_extension(Cap::X86MsrFilter)
            && vm
                .set_msr_filter(MsrFilterDefaultAction::DENY, &[deny_msr0])
                .is_ok();

        let cpuid = guest_cpuid(&kvm)?;
        let xsave_size = if !kvm.check_extension(Cap::Xsave) {
            0
        } else {
            match kvm.check_extension_int(Cap::Xsave2) {
                n if n > 0 => n as usize,
                _ => super::regs::XSAVE_BYTES,
            }
        };
        Ok(KvmMachine {
            inner: Arc::new(Inner {
                vm,
                ram,
                private,
                shim,
                cpuid,
                tables: Mutex::new(tables),
                boot_pml4,
                vcpus: Mutex::new(Vec::new()),
                msr_filter,
                xsave_size,
            }),
        })
    }

    /// Per-vCPU exit counts and reasons.
    pub fn telemetry(&self) -> Vec<VcpuTelemetry> {
        let vcpus = self.inner.vcpus.lock().unwrap_or_else(|e| e.into_inner());
        vcpus.iter().map(|v| v.telemetry()).collect()
    }

    /// Whether the host accepted the deny-all MSR filter.
    pub fn msr_filter(&self) -> bool {
        self.inner.msr_filter
    }

    /// The shim's `syscall` entry (LSTAR), kernel virtual.
    pub fn syscall_entry(&self) -> u64 {
        self.inner.shim.syscall_entry
    }

    /// Whether the host page behind guest physical `gpa` (RAM or the
    /// private region) has been made real: true for every frame a guest
    /// leaf has named.
    pub fn backed(&self, gpa: u64) -> bool {
        let t = self.inner.tables.lock().unwrap_or_else(|e| e.into_inner());
        t.is_populated(gpa)
    }

    /// Chunks of host memory made real so far ([`Self::backed`]; RAM
    /// 512 KiB each, the private region 64 KiB).
    pub fn backed_chunks(&self) -> u64 {
        let t = self.inner.tables.lock().unwrap_or_else(|e| e.into_inner());
        t.populated_chunks()
    }

    /// Page-table frames in use and mirrored address spaces.
    pub fn table_usage(&self) -> (u64, usize) {
        let t = self.inner.tables.lock().unwrap_or_else(|e| e.into_inner());
        (t.frames_used(), t.mirrors())
    }
}

/// Registers one memslot.
///
/// # Safety
/// `host..host + len` must be a mapping that stays valid while the VM lives.
unsafe fn set_slot(
    vm: &VmFd,
    slot: u32,
    gpa: u64,
    len: u64,
    host: u64,
) -> Result<(), MachineError> {
    let region = kvm_userspace_memory_region {
        slot,
        guest_phys_addr: gpa,
        memory_size: len,
        userspace_addr: host,
        flags: 0,
    };
    // The host pages behind it are made real lazily ([`Backing`]).
    // SAFETY: the caller guarantees the mapping outlives the VM.
    unsafe { vm.set_user_memory_region(region) }.map_err(kvm_err("KVM_SET_USER_MEMORY_REGION"))
}

impl Machine for KvmMachine {
    type Cpu = KvmCpu;

    fn arch(&self) -> Arch {
        Arch::X86_64
    }

    fn ram(&self) -> &Arc<GuestRam> {
        &self.inner.ram
    }

    fn create_cpu(&self, index: usize) -> Result<KvmCpu, MachineError> {
        KvmCpu::new(self.inner.clone(), index)
    }

    /// `retired` counts host nanoseconds.
    fn ns_per_unit(&self) -> u64 {
        1
    }
}
