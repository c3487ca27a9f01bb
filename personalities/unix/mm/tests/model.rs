//! Property test: random sequences of mmap / munmap / mprotect / mremap /
//! madvise / fork / exit / reads / writes on up to three address spaces keep
//! the memory manager in step with a simple shadow model (page → protection
//! and contents), with and without a frame quota tight enough to swap, and
//! leak nothing at the end.

mod common;

use std::collections::BTreeMap;

use common::*;
use proptest::prelude::*;
use spin_fs::Errno;
use spin_unix_mm::{MapFlags, Prot, Vm};

/// The window the test works in (pages of 8 KiB).
const BASE: u64 = 0x1_0000_0000;
const PAGES: u64 = 24;
/// Where in a page the test byte lives.
const SPOT: u64 = 100;

#[derive(Debug, Clone)]
enum Op {
    Map {
        vm: usize,
        page: u64,
        len: u64,
        prot: u8,
        shared: bool,
    },
    MapFile {
        vm: usize,
        page: u64,
        len: u64,
        prot: u8,
        shared: bool,
        file_page: u64,
    },
    Unmap {
        vm: usize,
        page: u64,
        len: u64,
    },
    Protect {
        vm: usize,
        page: u64,
        len: u64,
        prot: u8,
    },
    Write {
        vm: usize,
        page: u64,
        val: u8,
    },
    Remap {
        vm: usize,
        page: u64,
        old_len: u64,
        new_len: u64,
        to: u64,
    },
    DontNeed {
        vm: usize,
        page: u64,
        len: u64,
    },
    Fork {
        vm: usize,
    },
    Exit {
        vm: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Content {
    Private(u8),
    /// A private file page not written yet: it shows the file's (cached) page.
    FileTrack(u64),
    /// Page `idx` of shared object `obj`.
    Shared(usize, u64),
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Shadow {
    prot: u8,
    content: Content,
    /// For private file pages: the file page behind them.
    origin: Option<u64>,
}

#[derive(Default)]
struct Model {
    spaces: Vec<BTreeMap<u64, Shadow>>,
    objects: Vec<BTreeMap<u64, u8>>,
}

/// Object 0 is the file; its pages start as `file_byte(idx)`.
const FILE_OBJ: usize = 0;
const FILE_PAGES: u64 = 40;

fn file_byte(idx: u64) -> u8 {
    (idx * 13 + 1) as u8
}

impl Model {
    fn shared_value(&self, obj: usize, idx: u64) -> u8 {
        let initial = if obj == FILE_OBJ { file_byte(idx) } else { 0 };
        self.objects[obj].get(&idx).copied().unwrap_or(initial)
    }

    fn value(&self, s: &Shadow) -> u8 {
        match s.content {
            Content::Private(v) => v,
            Content::FileTrack(idx) => self.shared_value(FILE_OBJ, idx),
            Content::Shared(obj, idx) => self.shared_value(obj, idx),
        }
    }
}

fn readable(prot: u8) -> bool {
    prot != 0
}

fn va(page: u64) -> u64 {
    BASE + page * PAGE
}

fn op() -> impl Strategy<Value = Op> {
    let vm = 0..3usize;
    let page = 0..PAGES;
    prop_oneof![
        3 => (vm.clone(), page.clone(), 1..6u64, 0..8u8, any::<bool>())
            .prop_map(|(vm, page, len, prot, shared)| Op::Map { vm, page, len, prot, shared }),
        2 => (vm.clone(), page.clone(), 1..6u64, 0..8u8, any::<bool>(), 0..16u64)
            .prop_map(|(vm, page, len, prot, shared, file_page)| Op::MapFile { vm, page, len, prot, shared, file_page }),
        1 => (vm.clone(), page.clone(), 1..6u64).prop_map(|(vm, page, len)| Op::Unmap { vm, page, len }),
        2 => (vm.clone(), page.clone(), 1..6u64, 0..8u8)
            .prop_map(|(vm, page, len, prot)| Op::Protect { vm, page, len, prot }),
        8 => (vm.clone(), page.clone(), any::<u8>()).prop_map(|(vm, page, val)| Op::Write { vm, page, val }),
        1 => (vm.clone(), page.clone(), 1..4u64, 1..6u64, page.clone())
            .prop_map(|(vm, page, old_len, new_len, to)| Op::Remap { vm, page, old_len, new_len, to }),
        1 => (vm.clone(), page.clone(), 1..4u64).prop_map(|(vm, page, len)| Op::DontNeed { vm, page, len }),
        2 => vm.clone().prop_map(|vm| Op::Fork { vm }),
        1 => vm.prop_map(|vm| Op::Exit { vm }),
    ]
}

/// Every page of every space reads as the model says, and the regions cover
/// exactly the modelled pages with the modelled protections.
fn check(vms: &[Vm], model: &Model) -> Result<(), TestCaseError> {
    for (i, vm) in vms.iter().enumerate() {
        let shadow = &model.spaces[i];
        for page in 0..PAGES {
            let mut b = [0u8; 1];
            let got = vm.read(va(page) + SPOT, &mut b);
            match shadow.get(&page) {
                Some(s) if readable(s.prot) => {
                    prop_assert_eq!(got, Ok(()), "vm {} page {} should be readable", i, page);
                    prop_assert_eq!(b[0], model.value(s), "vm {} page {} contents", i, page);
                }
                _ => prop_assert_eq!(
                    got,
                    Err(Errno::EFAULT),
                    "vm {} page {} should fault",
                    i,
                    page
                ),
            }
        }
        let mut mapped = BTreeMap::new();
        for r in vm.regions() {
            for p in (r.start..r.end).step_by(PAGE as usize) {
                if (BASE..va(PAGES)).contains(&p) {
                    mapped.insert((p - BASE) / PAGE, r.prot.bits());
                }
            }
        }
        let want: BTreeMap<u64, u8> = shadow.iter().map(|(p, s)| (*p, s.prot)).collect();
        prop_assert_eq!(mapped, want, "vm {} regions", i);
    }
    Ok(())
}

fn run(ops: Vec<Op>, quota: Option<u64>) -> Result<(), TestCaseError> {
    let (k, mm) = setup(512, quota);
    let mut contents = vec![0u8; (FILE_PAGES * PAGE) as usize];
    for idx in 0..FILE_PAGES {
        contents[(idx * PAGE + SPOT) as usize] = file_byte(idx);
    }
    let file = MemFile::new(contents);
    let mut vms = vec![Vm::new(&mm).unwrap()];
    let mut model = Model {
        spaces: vec![BTreeMap::new()],
        objects: vec![BTreeMap::new()],
    };
    for op in ops {
        match op {
            Op::Map {
                vm,
                page,
                len,
                prot,
                shared,
            } => {
                let i = vm % vms.len();
                let len = len.min(PAGES - page);
                let flags = if shared {
                    MapFlags::shared_anon()
                } else {
                    MapFlags::private_anon()
                };
                let got = vms[i].mmap(
                    va(page),
                    len * PAGE,
                    Prot::from_bits(prot),
                    flags.with_fixed(),
                    None,
                );
                prop_assert_eq!(got, Ok(va(page)));
                let obj = shared.then(|| {
                    model.objects.push(BTreeMap::new());
                    model.objects.len() - 1
                });
                for j in 0..len {
                    let content = match obj {
                        Some(o) => Content::Shared(o, j),
                        None => Content::Private(0),
                    };
                    model.spaces[i].insert(
                        page + j,
                        Shadow {
                            prot,
                            content,
                            origin: None,
                        },
                    );
                }
            }
            Op::MapFile {
                vm,
                page,
                len,
                prot,
                shared,
                file_page,
            } => {
                let i = vm % vms.len();
                let len = len.min(PAGES - page);
                let flags = if shared {
                    MapFlags::shared_file()
                } else {
                    MapFlags::private_file()
                };
                let got = vms[i].mmap(
                    va(page),
                    len * PAGE,
                    Prot::from_bits(prot),
                    flags.with_fixed(),
                    Some((file.backing(), file_page * PAGE)),
                );
                prop_assert_eq!(got, Ok(va(page)));
                for j in 0..len {
                    let (content, origin) = if shared {
                        (Content::Shared(FILE_OBJ, file_page + j), None)
                    } else {
                        (Content::FileTrack(file_page + j), Some(file_page + j))
                    };
                    model.spaces[i].insert(
                        page + j,
                        Shadow {
                            prot,
                            content,
                            origin,
                        },
                    );
                }
            }
            Op::Unmap { vm, page, len } => {
                let i = vm % vms.len();
                prop_assert_eq!(vms[i].munmap(va(page), len * PAGE), Ok(()));
                for p in page..page + len {
                    model.spaces[i].remove(&p);
                }
            }
            Op::Protect {
                vm,
                page,
                len,
                prot,
            } => {
                let i = vm % vms.len();
                let len = len.min(PAGES - page);
                let covered = (page..page + len).all(|p| model.spaces[i].contains_key(&p));
                let got = vms[i].mprotect(va(page), len * PAGE, Prot::from_bits(prot));
                if covered {
                    prop_assert_eq!(got, Ok(()));
                    for p in page..page + len {
                        if let Some(s) = model.spaces[i].get_mut(&p) {
                            s.prot = prot;
                        }
                    }
                } else {
                    prop_assert_eq!(got, Err(Errno::ENOMEM));
                }
            }
            Op::Write { vm, page, val } => {
                let i = vm % vms.len();
                let got = vms[i].write(va(page) + SPOT, &[val]);
                match model.spaces[i].get(&page).copied() {
                    Some(s) if s.prot & 2 != 0 => {
                        prop_assert_eq!(got, Ok(()));
                        match s.content {
                            Content::Private(_) | Content::FileTrack(_) => {
                                model.spaces[i].get_mut(&page).unwrap().content =
                                    Content::Private(val);
                            }
                            Content::Shared(obj, idx) => {
                                model.objects[obj].insert(idx, val);
                            }
                        }
                    }
                    _ => prop_assert_eq!(got, Err(Errno::EFAULT)),
                }
            }
            Op::Remap {
                vm,
                page,
                old_len,
                new_len,
                to,
            } => {
                let i = vm % vms.len();
                if page + old_len > PAGES || to + new_len > PAGES {
                    continue;
                }
                let one_region = vms[i]
                    .regions()
                    .iter()
                    .any(|r| r.start <= va(page) && va(page + old_len) <= r.end);
                let got =
                    vms[i].mremap(va(page), old_len * PAGE, new_len * PAGE, true, Some(va(to)));
                if to < page + old_len && page < to + new_len {
                    prop_assert_eq!(got, Err(Errno::EINVAL));
                } else if !one_region {
                    prop_assert_eq!(got, Err(Errno::EFAULT));
                } else {
                    prop_assert_eq!(got, Ok(va(to)));
                    let space = &mut model.spaces[i];
                    let moved: Vec<Shadow> = (page..page + old_len)
                        .map(|p| space.remove(&p).unwrap())
                        .collect();
                    for p in to..to + new_len {
                        space.remove(&p);
                    }
                    for j in 0..new_len {
                        let s = match moved.get(j as usize) {
                            Some(s) => *s,
                            None => {
                                let first = moved[0];
                                let content = match (first.origin, first.content) {
                                    (Some(idx), _) => Content::FileTrack(idx + j),
                                    (None, Content::Shared(obj, idx)) => {
                                        Content::Shared(obj, idx + j)
                                    }
                                    _ => Content::Private(0),
                                };
                                Shadow {
                                    prot: first.prot,
                                    content,
                                    origin: first.origin.map(|o| o + j),
                                }
                            }
                        };
                        space.insert(to + j, s);
                    }
                }
            }
            Op::DontNeed { vm, page, len } => {
                let i = vm % vms.len();
                let len = len.min(PAGES - page);
                let covered = (page..page + len).all(|p| model.spaces[i].contains_key(&p));
                let got = vms[i].madvise_dontneed(va(page), len * PAGE);
                prop_assert_eq!(got, if covered { Ok(()) } else { Err(Errno::ENOMEM) });
                for p in page..page + len {
                    if let Some(s) = model.spaces[i].get_mut(&p) {
                        if let Content::Private(_) = s.content {
                            s.content = match s.origin {
                                Some(idx) => Content::FileTrack(idx),
                                None => Content::Private(0),
                            };
                        }
                    }
                }
            }
            Op::Fork { vm } => {
                if vms.len() < 3 {
                    let i = vm % vms.len();
                    vms.push(vms[i].fork().unwrap());
                    let copy = model.spaces[i].clone();
                    model.spaces.push(copy);
                }
            }
            Op::Exit { vm } => {
                if vms.len() > 1 {
                    let i = vm % vms.len();
                    vms.remove(i);
                    model.spaces.remove(i);
                }
            }
        }
        check(&vms, &model)?;
        if let Some(q) = quota {
            prop_assert!(k.phys.used_by(MOUND) <= q);
        }
        prop_assert_eq!(mm.stats().resident_frames, k.phys.used_by(MOUND));
    }
    if std::env::var_os("MODEL_DEBUG").is_some() {
        eprintln!("{} spaces {:?}", vms.len(), mm.stats());
    }
    drop(vms);
    // Dirty shared pages reached the file when its last mapping went.
    let bytes = file.bytes();
    for idx in 0..FILE_PAGES {
        prop_assert_eq!(
            bytes[(idx * PAGE + SPOT) as usize],
            model.shared_value(FILE_OBJ, idx),
            "file page {}",
            idx
        );
    }
    let s = mm.stats();
    prop_assert_eq!(
        (s.resident_frames, s.swap_slots_used, s.spaces),
        (0, 0, 0),
        "leak: {:?}",
        s
    );
    prop_assert_eq!(k.phys.used_by(MOUND), 0);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn shadow_model_without_quota(ops in proptest::collection::vec(op(), 1..64)) {
        run(ops, None)?;
    }

    #[test]
    fn shadow_model_under_a_tight_quota(ops in proptest::collection::vec(op(), 1..64)) {
        run(ops, Some(6))?;
    }

    #[test]
    fn shadow_model_under_a_moderate_quota(ops in proptest::collection::vec(op(), 1..64)) {
        run(ops, Some(16))?;
    }
}
