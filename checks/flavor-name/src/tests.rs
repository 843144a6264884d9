//! Table-driven tests. Sources: the scs-0100 v1/v2/v3 standards, the w1
//! testing notes, and sections d.1, d.4, h.3 and h.7 of docs/official-behaviour.md.

use crate::*;

fn v2(name: &str) -> FlavorName {
    match parse_v2(name) {
        Ok(f) => f,
        Err(e) => panic!("{name} should parse as v2: {e}"),
    }
}

fn v1(name: &str) -> FlavorName {
    match parse_v1(name) {
        Ok(f) => f,
        Err(e) => panic!("{name} should parse as v1: {e}"),
    }
}

fn cpuram(cpus: u32, cpu_type: char, ram: f64) -> CpuRam {
    CpuRam {
        cpus,
        cpu_type,
        insecure: false,
        ram,
        ram_no_ecc: false,
        ram_oversub: false,
    }
}

fn plain(cpus: u32, cpu_type: char, ram: f64) -> FlavorName {
    FlavorName {
        cpuram: cpuram(cpus, cpu_type, ram),
        disk: None,
        hypervisor: None,
        hwvirt: false,
        cpubrand: None,
        gpu: None,
        ib: false,
    }
}

fn disk(count: u32, explicit_count: bool, size: Option<u32>, disk_type: Option<char>) -> Disk {
    Disk {
        count,
        explicit_count,
        size,
        disk_type,
    }
}

fn brand(vendor: char, generation: Option<u32>, perf: u8) -> CpuBrand {
    CpuBrand {
        vendor,
        generation,
        perf,
    }
}

fn gpu(
    passthrough: bool,
    vendor: char,
    generation: &str,
    compute_units: Option<u32>,
    freq_h: u8,
    vram_gib: Option<u32>,
    bw_h: u8,
) -> Gpu {
    Gpu {
        passthrough,
        vendor,
        generation: generation.to_string(),
        compute_units,
        freq_h,
        vram_gib,
        bw_h,
    }
}

/// Every v2/v3 name the standards use as a valid example (emphasis removed),
/// plus the standard flavors of v2. All are printed back unchanged.
const STANDARD_V2_VALID: &[&str] = &[
    // v3 (and v2) CPU suffixes
    "SCS-2C-4-10n",
    "SCS-2T-4-10n",
    "SCS-2V-4-10n",
    "SCS-2L-4-10n",
    "SCS-2Li-4-10n",
    // memory
    "SCS-2C-3.5-10n",
    "SCS-2C-4u-10n",
    "SCS-2C-4o-10n",
    "SCS-2C-4uo-10n",
    // disks
    "SCS-2C-4-10s",
    "SCS-2C-4-10s_bms_z3",
    "SCS-2C-4-3x10s",
    "SCS-2C-4-3x10s_bms_z3",
    "SCS-2C-4-10",
    "SCS-2C-4-10_bms_z3",
    "SCS-2C-4-n",
    "SCS-2C-4-",
    "SCS-2C-4-_bms_z3",
    "SCS-2C-4-_bms_z3h_GNa-64_ib",
    "SCS-2C-4-_ib",
    "SCS-2C-4",
    "SCS-2C-4_bms_z3",
    "SCS-2C-4-3x10",
    "SCS-2C-4-3xs", // v2 only ("FIXME: useful?")
    // hypervisor
    "SCS-2C-4-10n_bms",
    "SCS-2C-4-10n_bms_z3h",
    // hardware virtualization
    "SCS-2C-4-10_kvm_hwv",
    "SCS-2C-4-10_hwv",
    "SCS-2C-4-10_bms_hwv",
    // CPU brand
    "SCS-2C-4-10n_z",
    "SCS-2C-4-10n_z3",
    "SCS-2C-4-10n_z3h",
    "SCS-2C-4-10n_z3hh",
    "SCS-2C-4-10n_bms_z",
    "SCS-2C-4-10n_bms_z3",
    "SCS-2C-4-10n_bms_z3h",
    "SCS-2C-4-10n_bms_z3hh",
    // GPU
    "SCS-16V-64-500s_GNa-14-6h",
    // proposal examples (v3 and v2)
    "SCS-8Ti-32-50p_i1",
    "SCS-1L-1u-5",
    "SCS-16T-64-200s_GNa-72-24_ib",
    "SCS-16T-64-200s_GNa-64_ib",
    "SCS-4C-16-2x200p_a1",
    "SCS-1V-0.5",
    // naming policy / advice sections
    "SCS-1C-1.5-8s",
    "SCS-1T-1-5n",
    "SCS-1V-1-5",
    "SCS-2V-4-20s",
    "SCS-2V-4-20p",
    "SCS-4V-16-50",
    "SCS-8V-32-100",
    "SCS-8T-16-50",
    "SCS-8T-16-50n",
    "SCS-8T-16-50n_i2",
    "SCS-8T-16-50n_z2",
    "SCS-8T-16-50n_a2",
    // v2 standard flavor table
    "SCS-1V-4",
    "SCS-1V-4-10",
    "SCS-2V-8",
    "SCS-2V-8-20",
    "SCS-4V-16",
    "SCS-4V-16-50",
    "SCS-8V-32",
    "SCS-8V-32-100",
    "SCS-1V-2",
    "SCS-1V-2-5",
    "SCS-2V-4",
    "SCS-2V-4-10",
    "SCS-4V-8",
    "SCS-4V-8-20",
    "SCS-8V-16",
    "SCS-8V-16-50",
    "SCS-16V-32",
    "SCS-16V-32-100",
    "SCS-1V-8",
    "SCS-1V-8-20",
    "SCS-2V-16",
    "SCS-2V-16-50",
    "SCS-4V-32",
    "SCS-4V-32-100",
    "SCS-1L-1",
    "SCS-1L-1-5",
];

/// Every v1 name the v1 standard uses as a valid example.
const STANDARD_V1_VALID: &[&str] = &[
    "SCS-2C:4:10n",
    "SCS-2T:4:10n",
    "SCS-2V:4:10n",
    "SCS-2L:4:10n",
    "SCS-2Li:4:10n",
    "SCS-2C:3.5:10n",
    "SCS-2C:4u:10n",
    "SCS-2C:4o:10n",
    "SCS-2C:4uo:10n",
    "SCS-2C:4:10s",
    "SCS-2C:4:10s-bms-z3",
    "SCS-2C:4:3x10s",
    "SCS-2C:4:3x10s-bms-z3",
    "SCS-2C:4:10",
    "SCS-2C:4:10-bms-z3",
    "SCS-2C:4:n",
    "SCS-2C:4:",
    "SCS-2C:4:-bms-z3",
    "SCS-2C:4:-bms-z3h-GNa:64-ib",
    "SCS-2C:4:-ib",
    "SCS-2C:4",
    "SCS-2C:4-bms-z3",
    "SCS-2C:4:3x",
    "SCS-2C:4:3xs",
    "SCS-2C:4:3x10",
    "SCS-2C:4:10n-bms",
    "SCS-2C:4:10n-bms-z3h",
    "SCS-2C:4:10-kvm-hwv",
    "SCS-2C:4:10-hwv",
    "SCS-2C:4:10n-z",
    "SCS-2C:4:10n-z3",
    "SCS-2C:4:10n-z3h",
    "SCS-2C:4:10n-z3hh",
    "SCS-2C:4:10n-bms-z",
    "SCS-2C:4:10n-bms-z3",
    "SCS-2C:4:10n-bms-z3h",
    "SCS-2C:4:10n-bms-z3hh",
    "SCS-2C:4:10n",
    "SCS-8Ti:32:50p-i1",
    "SCS-1L:1u:5",
    "SCS-16T:64:200s-GNa:64-ib",
    "SCS-4C:16:2x200p-a1",
    "SCS-1V:0.5",
    "SCS-1T:1:5n",
    "SCS-8C:16:50",
    "SCS-8T:16:50",
    "SCS-8T:16:50n",
    "SCS-8T:16:50n-i2",
    "SCS-8T:16:50n-a2",
    "SCS-1V:4",
    "SCS-1V:4:10",
    "SCS-2V:8",
    "SCS-2V:8:20",
    "SCS-4V:16",
    "SCS-4V:16:50",
    "SCS-8V:32",
    "SCS-8V:32:100",
    "SCS-1V:2",
    "SCS-1V:2:5",
    "SCS-2V:4",
    "SCS-2V:4:10",
    "SCS-4V:8",
    "SCS-4V:8:20",
    "SCS-8V:16",
    "SCS-8V:16:50",
    "SCS-16V:32",
    "SCS-16V:32:100",
    "SCS-1V:8",
    "SCS-1V:8:20",
    "SCS-2V:16",
    "SCS-2V:16:50",
    "SCS-4V:32",
    "SCS-4V:32:100",
    "SCS-1L:1",
    "SCS-1L:1:5",
    "SCS-2V:4:20s",
];

#[test]
fn standard_v2_examples_parse_as_current_syntax_and_print_back() {
    for name in STANDARD_V2_VALID {
        let parsed = v2(name);
        assert_eq!(parsed.to_v2(), *name, "to_v2 of {name}");
        match parse(name) {
            Ok((again, syntax)) => {
                assert_eq!(syntax, Syntax::V2, "{name}");
                assert_eq!(again, parsed, "{name}");
            }
            Err(e) => panic!("parse({name}) failed: {e}"),
        }
        assert!(parse_v1(name).is_err(), "{name} must not parse as v1");
    }
}

#[test]
fn standard_v1_examples_are_tolerated_as_v1() {
    for name in STANDARD_V1_VALID {
        let parsed = v1(name);
        assert_eq!(parsed.to_v1(), *name, "to_v1 of {name}");
        assert!(parse_v2(name).is_err(), "{name} must not parse as v2");
        match parse(name) {
            Ok((again, syntax)) => {
                assert_eq!(syntax, Syntax::V1, "{name}");
                assert_eq!(again, parsed, "{name}");
            }
            Err(e) => panic!("parse({name}) failed: {e}"),
        }
    }
}

/// Names the standards strike through or that the official parser rejects,
/// in the current syntax: (name, reason the parser gives).
const REJECTED_V2: &[(&str, &str)] = &[
    // struck through in the standard
    (
        "SCS-2-4-10n",
        "cannot parse the CPU/RAM part (expected <N><L|V|T|C>[i]-<RAM>[u][o])",
    ),
    (
        "SCS-2iT-4-10n",
        "cannot parse the CPU/RAM part (expected <N><L|V|T|C>[i]-<RAM>[u][o])",
    ),
    ("SCS-2C-4ou-10n", "extra characters \"u-10n\" after RAM"),
    ("SCS-2C-4-1.5n", "extra characters \".5n\" after disk"),
    ("SCS-2C-4-10_hwv_xen", "extra characters \"_xen\" after hwv"),
    // examples the standard lists as valid, but the parser rejects
    (
        "SCS-2C-4-n_bms_3",
        "extra characters \"_3\" after hypervisor",
    ),
    ("SCS-2C-4-3x-", "extra characters \"-\" after disk"),
    // invalid CPU type letter (v1/v2 policy sections)
    (
        "SCS-1D-1.5-8s",
        "cannot parse the CPU/RAM part (expected <N><L|V|T|C>[i]-<RAM>[u][o])",
    ),
    // d.1 quirks
    (
        "SCS-2V-4.25",
        "RAM \"4.25\" must be a positive multiple of 0.5",
    ),
    ("SCS-2V-4ou", "extra characters \"u\" after RAM"),
    (
        "SCS-2v-4",
        "cannot parse the CPU/RAM part (expected <N><L|V|T|C>[i]-<RAM>[u][o])",
    ),
    (
        "SCS-0V-4",
        "number of vCPUs must be a positive integer, got \"0\"",
    ),
    (
        "SCS-2V-4-0",
        "disk size must be a positive integer, got \"0\"",
    ),
    (
        "SCS-2V-4_i7",
        "CPU generation 7 is not valid for vendor 'i' (allowed: 0 to 6)",
    ),
    // h.3
    (
        "SCS-2V:4:20s-chy",
        "cannot parse the CPU/RAM part (expected <N><L|V|T|C>[i]-<RAM>[u][o])",
    ),
    ("SCS-2V-4_hwv_kvm", "extra characters \"_kvm\" after hwv"),
    // further consequences of the grammar
    ("SCS-2V-0", "RAM \"0\" must be a positive multiple of 0.5"),
    (
        "SCS-2V-0.0",
        "RAM \"0.0\" must be a positive multiple of 0.5",
    ),
    ("SCS-2V-", "RAM \"\" is not a number"),
    ("SCS-2V-.", "RAM \".\" is not a number"),
    ("SCS-2V-4..5", "RAM \"4..5\" is not a number"),
    (
        "SCS-2V-1.25",
        "RAM \"1.25\" must be a positive multiple of 0.5",
    ),
    ("SCS-V-4", "number of vCPUs is missing"),
    (
        "SCS-2V-4-0x10",
        "disk count must be a positive integer, got \"0\"",
    ),
    ("SCS-2V-4-10x5x", "extra characters \"x\" after disk"),
    ("SCS-2V-4-10q", "extra characters \"q\" after disk"),
    (
        "SCS-2V-4_z7",
        "CPU generation 7 is not valid for vendor 'z' (allowed: 0 to 6)",
    ),
    (
        "SCS-2V-4_a6",
        "CPU generation 6 is not valid for vendor 'a' (allowed: 0 to 5)",
    ),
    (
        "SCS-2V-4_r1",
        "CPU generation 1 is not valid for vendor 'r' (allowed: 0 to 0)",
    ),
    (
        "SCS-2V-4_i3hhhh",
        "CPU performance modifier \"hhhh\" is not valid (allowed: h, hh, hhh)",
    ),
    ("SCS-2V-4_z3x", "extra characters \"_z3x\" after RAM"),
    (
        "SCS-2V-4_kvm_kvm",
        "extra characters \"_kvm\" after hypervisor",
    ),
    ("SCS-2V-4_ib_kvm", "extra characters \"_kvm\" after ib"),
    (
        "SCS-2V-4_z3_bms",
        "extra characters \"_bms\" after CPU brand",
    ),
    ("SCS-2V-4_GNa-64_z3", "extra characters \"_z3\" after GPU"),
    // a GPU without a compute unit count swallows the following `_ib`
    (
        "SCS-2V-4_GNa_ib",
        "GPU generation \"a_ib\" is not valid for brand 'N' (allowed: [\"\", \"f\", \"k\", \"m\", \"p\", \"v\", \"t\", \"a\", \"l\", \"g\", \"b\", \"u\"])",
    ),
    (
        "SCS-2V-4_GN5",
        "GPU generation \"5\" is not valid for brand 'N' (allowed: [\"\", \"f\", \"k\", \"m\", \"p\", \"v\", \"t\", \"a\", \"l\", \"g\", \"b\", \"u\"])",
    ),
    (
        "SCS-2V-4_GA5",
        "GPU generation \"5\" is not valid for brand 'A' (allowed: [\"\", \"0.4\", \"0.5\", \"1\", \"1.1\", \"2\", \"2.1\", \"3\", \"3.1\", \"3.5\", \"4\", \"4.1\", \"5.1\"])",
    ),
    (
        "SCS-2V-4_GI5",
        "GPU generation \"5\" is not valid for brand 'I' (allowed: [\"\", \"0.9\", \"0.95\", \"1\", \"2\", \"3\", \"4\"])",
    ),
    (
        "SCS-2V-4_GNa-0",
        "GPU compute unit count must be a positive integer, got \"0\"",
    ),
    (
        "SCS-2V-4_GNa-8-0",
        "GPU VRAM size must be a positive integer, got \"0\"",
    ),
    (
        "SCS-2V-4_GNa-8hhh",
        "GPU frequency modifier \"hhh\" is not valid (allowed: h, hh)",
    ),
    (
        "SCS-2V-4_GNa-8-16hhh",
        "GPU bandwidth modifier \"hhh\" is not valid (allowed: h, hh)",
    ),
    ("SCS-2V-4_GX", "extra characters \"_GX\" after RAM"),
    ("SCS-2V-4 ", "extra characters \" \" after RAM"),
    ("SCS-2V-4\n", "extra characters \"\\n\" after RAM"),
    ("SCS-2V-4_z3\n", "extra characters \"\\n\" after CPU brand"),
    ("SCS-2V-4_ib_", "extra characters \"_\" after ib"),
    ("scs-2V-4", "does not start with \"SCS-\""),
    ("SCS2V-4", "does not start with \"SCS-\""),
    ("", "does not start with \"SCS-\""),
    // numbers beyond u32 (deliberate divergence, see crate docs)
    (
        "SCS-4294967296V-4",
        "number of vCPUs 4294967296 is too large (this implementation stops at 4294967295)",
    ),
];

#[test]
fn rejected_names_and_reasons() {
    for (name, reason) in REJECTED_V2 {
        match parse_v2(name) {
            Ok(f) => panic!("{name:?} must be rejected, got {f:?}"),
            Err(e) => {
                assert_eq!(e.reason, *reason, "reason for {name:?}");
                assert_eq!(e.name, *name);
                assert!(!e.official_abort, "{name:?}");
            }
        }
        // The official strategy returns the error of the current syntax.
        match parse(name) {
            Ok(f) => panic!("parse({name:?}) must fail, got {f:?}"),
            Err(e) => assert_eq!(e.reason, *reason, "parse() reason for {name:?}"),
        }
    }
}

#[test]
fn rejected_v1_examples() {
    let cases: &[(&str, &str)] = &[
        (
            "SCS-2:4:10n",
            "cannot parse the CPU/RAM part (expected <N><L|V|T|C>[i]:<RAM>[u][o])",
        ),
        (
            "SCS-2iT:4:10n",
            "cannot parse the CPU/RAM part (expected <N><L|V|T|C>[i]:<RAM>[u][o])",
        ),
        ("SCS-2C:4ou:10n", "extra characters \"u:10n\" after RAM"),
        ("SCS-2C:4:1.5n", "extra characters \".5n\" after disk"),
        ("SCS-2C:4:10-hwv-xen", "extra characters \"-xen\" after hwv"),
        (
            "SCS-2C:4:n-bms-3",
            "extra characters \"-3\" after hypervisor",
        ),
        (
            "SCS-1Vl:1:5",
            "cannot parse the CPU/RAM part (expected <N><L|V|T|C>[i]:<RAM>[u][o])",
        ),
        (
            "SCS-1D:1.5:8s",
            "cannot parse the CPU/RAM part (expected <N><L|V|T|C>[i]:<RAM>[u][o])",
        ),
        // h.3: v1 knows no `chy`
        ("SCS-2V:4:20s-chy", "extra characters \"-chy\" after disk"),
        (
            "SCS-2V:4-GNa-ib",
            "GPU generation \"a-ib\" is not valid for brand 'N' (allowed: [\"\", \"f\", \"k\", \"m\", \"p\", \"v\", \"t\", \"a\", \"l\", \"g\", \"b\", \"u\"])",
        ),
    ];
    for (name, reason) in cases {
        match parse_v1(name) {
            Ok(f) => panic!("{name:?} must be rejected as v1, got {f:?}"),
            Err(e) => assert_eq!(e.reason, *reason, "v1 reason for {name:?}"),
        }
        assert!(parse(name).is_err(), "parse({name:?}) must fail");
    }
}

#[test]
fn parse_error_display_and_error_trait() {
    let e = match parse("SCS-2V-4ou") {
        Ok(f) => panic!("accepted {f:?}"),
        Err(e) => e,
    };
    assert_eq!(
        e.to_string(),
        "invalid SCS flavor name \"SCS-2V-4ou\": extra characters \"u\" after RAM"
    );
    let boxed: Box<dyn std::error::Error> = Box::new(e.clone());
    assert_eq!(boxed.to_string(), e.to_string());
}

/// Quirks of the official parser that are accepted: (input, expected v2 print).
const ACCEPTED_QUIRKS: &[(&str, &str)] = &[
    ("SCS-2V-4-10x", "SCS-2V-4-10x"),
    ("SCS-2V-4-", "SCS-2V-4-"),
    ("SCS-2V-4-n", "SCS-2V-4-n"),
    ("SCS-2V-4.", "SCS-2V-4"),
    ("SCS-02V-4", "SCS-2V-4"),
    ("SCS-2V-04", "SCS-2V-4"),
    ("SCS-2V-.5", "SCS-2V-0.5"),
    ("SCS-2V-4.0", "SCS-2V-4"),
    ("SCS-2V-4.50", "SCS-2V-4.5"),
    ("SCS-2V-4.0000000000000001", "SCS-2V-4"),
    ("SCS-2V-4_chy", "SCS-2V-4_chy"),
    ("SCS-2V-4-x10", "SCS-2V-4-10"),
    ("SCS-2V-4-1x10", "SCS-2V-4-10"),
    ("SCS-2V-4-xs", "SCS-2V-4-s"),
    ("SCS-2V-4-010", "SCS-2V-4-10"),
    ("SCS-2V-4-03x010p", "SCS-2V-4-3x10p"),
    ("SCS-2V-4_z0", "SCS-2V-4_z"),
    ("SCS-2V-4_i00", "SCS-2V-4_i"),
    ("SCS-2V-4_a05", "SCS-2V-4_a5"),
    ("SCS-2V-4_r", "SCS-2V-4_r"),
    ("SCS-2V-4_r0h", "SCS-2V-4_rh"),
    ("SCS-2V-4_i6hhh", "SCS-2V-4_i6hhh"),
    ("SCS-2V-4_z6", "SCS-2V-4_z6"),
    ("SCS-2V-4_i_ib", "SCS-2V-4_i_ib"),
    ("SCS-2V-4_ib", "SCS-2V-4_ib"),
    ("SCS-2V-4_gN", "SCS-2V-4_gN"),
    ("SCS-2V-4_GNah", "SCS-2V-4_GNah"),
    ("SCS-2V-4_GNah-6", "SCS-2V-4_GNah-6"),
    ("SCS-2V-4_GNa-08-016", "SCS-2V-4_GNa-8-16"),
    ("SCS-2V-4_GA3.5-40", "SCS-2V-4_GA3.5-40"),
    ("SCS-2V-4_gI0.95", "SCS-2V-4_gI0.95"),
    ("SCS-2V-4_gNu-160-288h", "SCS-2V-4_gNu-160-288h"),
    (
        "SCS-16T-64-3x10s_bms_hwv_i3h_GNa-64_ib",
        "SCS-16T-64-3x10s_bms_hwv_i3h_GNa-64_ib",
    ),
    (
        "SCS-2Ci-4uo-2x50p_kvm_hwv_a5hhh_gA4.1-64hh-32hh_ib",
        "SCS-2Ci-4uo-2x50p_kvm_hwv_a5hhh_gA4.1-64hh-32hh_ib",
    ),
];

#[test]
fn accepted_quirks_and_normalisation() {
    for (name, printed) in ACCEPTED_QUIRKS {
        match parse(name) {
            Ok((f, syntax)) => {
                assert_eq!(syntax, Syntax::V2, "{name}");
                assert_eq!(f.to_v2(), *printed, "to_v2 of {name}");
            }
            Err(e) => panic!("{name} should be accepted: {e}"),
        }
    }
}

#[test]
fn quirks_rejected_despite_looking_valid() {
    // `--6` : the CU group needs a digit after `-`, so `--6` is left over.
    assert_eq!(
        parse_v2("SCS-2V-4_GNa--6").map_err(|e| e.reason),
        Err("extra characters \"--6\" after GPU".to_string())
    );
    // `i` and `o` are CPU and RAM suffixes; `o` after the CPU is not allowed.
    assert_eq!(
        parse_v2("SCS-2Cio-4uo-2x50p_kvm_hwv_a5hhh_gA4.1-64hh-32hh_ib").map_err(|e| e.reason),
        Err("cannot parse the CPU/RAM part (expected <N><L|V|T|C>[i]-<RAM>[u][o])".to_string())
    );
    assert_eq!(
        v2("SCS-2Ci-4uo-2x50p_kvm_hwv_a5hhh_gA4.1-64hh-32hh_ib").to_v2(),
        "SCS-2Ci-4uo-2x50p_kvm_hwv_a5hhh_gA4.1-64hh-32hh_ib"
    );
}

#[test]
fn quirk_structures() {
    // d.1: `-10x` is ten disks of unspecified size
    let f = v2("SCS-2V-4-10x");
    assert_eq!(f.disk, Some(disk(10, true, None, None)));
    // d.1: bare `-` and `-n` have no size
    assert_eq!(v2("SCS-2V-4-").disk, Some(disk(1, false, None, None)));
    assert_eq!(v2("SCS-2V-4-n").disk, Some(disk(1, false, None, Some('n'))));
    // `x` without digits: count 1 (the default), explicit prefix recorded
    assert_eq!(v2("SCS-2V-4-x10").disk, Some(disk(1, true, Some(10), None)));
    assert_eq!(v2("SCS-2V-4-xs").disk, Some(disk(1, true, None, Some('s'))));
    // h.3: RAM is a float
    assert_eq!(v2("SCS-2V-4."), plain(2, 'V', 4.0));
    assert_eq!(v2("SCS-2V-.5"), plain(2, 'V', 0.5));
    assert_eq!(v2("SCS-02V-4"), plain(2, 'V', 4.0));
    assert_eq!(v2("SCS-2V-04"), plain(2, 'V', 4.0));
    // chy is known to the current syntax
    assert_eq!(v2("SCS-2V-4_chy").hypervisor.as_deref(), Some("chy"));
    // generation 0 is kept in the struct but not printed
    assert_eq!(v2("SCS-2V-4_z0").cpubrand, Some(brand('z', Some(0), 0)));
    assert_eq!(v2("SCS-2V-4_z").cpubrand, Some(brand('z', None, 0)));
    // `_i` followed by `_ib`: CPU brand Intel, then Infiniband
    let f = v2("SCS-2V-4_i_ib");
    assert_eq!(f.cpubrand, Some(brand('i', None, 0)));
    assert!(f.ib);
    // `_ib` alone is not CPU brand `i` (the lookahead needs `_` or the end)
    let f = v2("SCS-2V-4_ib");
    assert_eq!(f.cpubrand, None);
    assert!(f.ib);
    // GPU: `h` ends the generation; a VRAM figure without compute units
    assert_eq!(
        v2("SCS-2V-4_GNah").gpu,
        Some(gpu(true, 'N', "a", None, 1, None, 0))
    );
    assert_eq!(
        v2("SCS-2V-4_GNah-6").gpu,
        Some(gpu(true, 'N', "a", None, 1, Some(6), 0))
    );
    assert_eq!(
        v2("SCS-2V-4_gN").gpu,
        Some(gpu(false, 'N', "", None, 0, None, 0))
    );
}

#[test]
fn trailing_newline_is_rejected_like_python() {
    // Python's `$` matches before a final newline, so the CPU brand is taken,
    // but the newline itself is left over.
    let e = match parse_v2("SCS-2V-4_z3\n") {
        Ok(f) => panic!("accepted {f:?}"),
        Err(e) => e,
    };
    assert_eq!(e.reason, "extra characters \"\\n\" after CPU brand");
}

#[test]
fn python_integer_digit_limit() {
    let ok = format!("SCS-{}2V-4", "0".repeat(4299));
    assert_eq!(v2(&ok).cpuram.cpus, 2);
    let too_long = format!("SCS-{}2V-4", "0".repeat(4300));
    match parse_v2(&too_long) {
        Ok(f) => panic!("accepted {f:?}"),
        Err(e) => assert_eq!(
            e.reason,
            "number of vCPUs has 4301 digits, more than Python's integer conversion limit of 4300"
        ),
    }
}

#[test]
fn infinite_ram_is_an_official_abort() {
    let name = format!("SCS-2V-{}", "9".repeat(400));
    match parse(&name) {
        Ok(f) => panic!("accepted {f:?}"),
        Err(e) => {
            assert!(e.official_abort);
            assert!(e.reason.contains("OverflowError"), "{}", e.reason);
        }
    }
    // A large but finite RAM figure is a plain float, accepted and printed
    // with all its digits, as Python's `%.0f` does.
    let f = v2("SCS-2V-100000000000000000000000");
    assert_eq!(f.cpuram.ram, 1e23);
    assert_eq!(f.to_v2(), "SCS-2V-99999999999999991611392");
}

#[test]
fn non_ascii_never_panics() {
    for name in [
        "SCS-2V-4_GNä",
        "SCS-2V-4_GNa€-6",
        "SCS-2V-4ü",
        "SCS-ⅡV-4",
        "SCS-2V-4-10ß",
        "SCS-2V:4-GNé",
    ] {
        assert!(parse(name).is_err(), "{name}");
    }
    match parse_v2("SCS-2V-4_GNä") {
        Ok(f) => panic!("accepted {f:?}"),
        Err(e) => assert!(e.reason.starts_with("GPU generation \"ä\""), "{}", e.reason),
    }
}

#[test]
fn structures_of_standard_examples() {
    let mut f = plain(8, 'T', 32.0);
    f.cpuram.insecure = true;
    f.disk = Some(disk(1, false, Some(50), Some('p')));
    f.cpubrand = Some(brand('i', Some(1), 0));
    assert_eq!(v2("SCS-8Ti-32-50p_i1"), f);

    let mut f = plain(1, 'L', 1.0);
    f.cpuram.ram_no_ecc = true;
    f.disk = Some(disk(1, false, Some(5), None));
    assert_eq!(v2("SCS-1L-1u-5"), f);

    let mut f = plain(16, 'T', 64.0);
    f.disk = Some(disk(1, false, Some(200), Some('s')));
    f.gpu = Some(gpu(true, 'N', "a", Some(72), 0, Some(24), 0));
    f.ib = true;
    assert_eq!(v2("SCS-16T-64-200s_GNa-72-24_ib"), f);

    let mut f = plain(4, 'C', 16.0);
    f.disk = Some(disk(2, true, Some(200), Some('p')));
    f.cpubrand = Some(brand('a', Some(1), 0));
    assert_eq!(v2("SCS-4C-16-2x200p_a1"), f);

    assert_eq!(v2("SCS-1V-0.5"), plain(1, 'V', 0.5));

    let mut f = plain(2, 'C', 4.0);
    f.cpuram.ram_no_ecc = true;
    f.cpuram.ram_oversub = true;
    f.disk = Some(disk(1, false, Some(10), Some('n')));
    assert_eq!(v2("SCS-2C-4uo-10n"), f);

    let mut f = plain(2, 'C', 4.0);
    f.disk = Some(disk(1, false, None, None));
    f.hypervisor = Some("bms".to_string());
    f.cpubrand = Some(brand('z', Some(3), 1));
    f.gpu = Some(gpu(true, 'N', "a", Some(64), 0, None, 0));
    f.ib = true;
    assert_eq!(v2("SCS-2C-4-_bms_z3h_GNa-64_ib"), f);
    assert_eq!(v1("SCS-2C:4:-bms-z3h-GNa:64-ib"), f);

    let mut f = plain(2, 'C', 4.0);
    f.disk = Some(disk(1, false, Some(10), None));
    f.hypervisor = Some("kvm".to_string());
    f.hwvirt = true;
    assert_eq!(v2("SCS-2C-4-10_kvm_hwv"), f);

    let mut f = plain(16, 'V', 64.0);
    f.disk = Some(disk(1, false, Some(500), Some('s')));
    f.gpu = Some(gpu(true, 'N', "a", Some(14), 0, Some(6), 1));
    assert_eq!(v2("SCS-16V-64-500s_GNa-14-6h"), f);

    let mut f = plain(2, 'C', 4.0);
    f.disk = Some(disk(3, true, None, Some('s')));
    assert_eq!(v2("SCS-2C-4-3xs"), f);
    assert_eq!(v1("SCS-2C:4:3xs"), f);
    let mut f = plain(2, 'C', 4.0);
    f.disk = Some(disk(3, true, None, None));
    assert_eq!(v1("SCS-2C:4:3x"), f);
}

/// GPU name pieces of the w1 GPU table:
/// (piece, vendor, generation, compute units, freq h, VRAM, bandwidth h).
const W1_GPUS: &[(&str, char, &str, u32, u8, u32, u8)] = &[
    ("GNa-72-24", 'N', "a", 72, 0, 24, 0),
    ("GNa-84-48", 'N', "a", 84, 0, 48, 0),
    ("GNa-56-24", 'N', "a", 56, 0, 24, 0),
    ("GNa-28-12", 'N', "a", 28, 0, 12, 0),
    ("GNa-14-6", 'N', "a", 14, 0, 6, 0),
    ("GNa-56h-24h", 'N', "a", 56, 1, 24, 1),
    ("GNa-108h-80h", 'N', "a", 108, 1, 80, 1),
    ("GNa-54h-40h", 'N', "a", 54, 1, 40, 1),
    ("GNa-27h-20h", 'N', "a", 27, 1, 20, 1),
    ("GNa-15h-10h", 'N', "a", 15, 1, 10, 1),
    ("GNa-108-80h", 'N', "a", 108, 0, 80, 1),
    ("GNl-58-24", 'N', "l", 58, 0, 24, 0),
    ("GNl-142-48", 'N', "l", 142, 0, 48, 0),
    ("GNl-142h-48", 'N', "l", 142, 1, 48, 0),
    ("GNl-142hh-48", 'N', "l", 142, 2, 48, 0),
    ("GNl-22-16", 'N', "l", 22, 0, 16, 0),
    ("GNl-48-20", 'N', "l", 48, 0, 20, 0),
    ("GNl-60-24", 'N', "l", 60, 0, 24, 0),
    ("GNl-100-32", 'N', "l", 100, 0, 32, 0),
    ("GNl-110-48", 'N', "l", 110, 0, 48, 0),
    ("GNg-132-80h", 'N', "g", 132, 0, 80, 1),
    ("GNg-66-40h", 'N', "g", 66, 0, 40, 1),
    ("GNg-33-20h", 'N', "g", 33, 0, 20, 1),
    ("GNg-18-10h", 'N', "g", 18, 0, 10, 1),
    ("GNg-132-141h", 'N', "g", 132, 0, 141, 1),
    ("GNg-66-70h", 'N', "g", 66, 0, 70, 1),
    ("GNb-160-192h", 'N', "b", 160, 0, 192, 1),
    ("GNb-80-96h", 'N', "b", 80, 0, 96, 1),
    ("GNb-44-45h", 'N', "b", 44, 0, 45, 1),
    ("GNb-22-23h", 'N', "b", 22, 0, 23, 1),
    ("GNu-160-288h", 'N', "u", 160, 0, 288, 1),
    ("GNu-80-144h", 'N', "u", 80, 0, 144, 1),
    ("GNb-34-16", 'N', "b", 34, 0, 16, 0),
    ("GNb-70-24", 'N', "b", 70, 0, 24, 0),
    ("GNb-82-32", 'N', "b", 82, 0, 32, 0),
    ("GNb-110-72", 'N', "b", 110, 0, 72, 0),
    ("GNb-55-36", 'N', "b", 55, 0, 36, 0),
    ("GNb-188-96", 'N', "b", 188, 0, 96, 0),
    ("GNb-94-48", 'N', "b", 94, 0, 48, 0),
    ("GNb-47-24", 'N', "b", 47, 0, 24, 0),
    ("GA2-104-64h", 'A', "2", 104, 0, 64, 1),
    ("GA2-208-128h", 'A', "2", 208, 0, 128, 1),
    ("GA2-220-128h", 'A', "2", 220, 0, 128, 1),
    ("GA3-304-192h", 'A', "3", 304, 0, 192, 1),
    ("GA3-304-288h", 'A', "3", 304, 0, 288, 1),
    ("GA4-256-288h", 'A', "4", 256, 0, 288, 1),
    ("GA4-256h-288h", 'A', "4", 256, 1, 288, 1),
    ("GA3.1-96-48", 'A', "3.1", 96, 0, 48, 0),
    ("GA4.1-64-32", 'A', "4.1", 64, 0, 32, 0),
    ("GI3-56-48h", 'I', "3", 56, 0, 48, 1),
    ("GI3-128-128h", 'I', "3", 128, 0, 128, 1),
    ("GI4-128-16", 'I', "4", 128, 0, 16, 0),
    ("GI4-160-24", 'I', "4", 160, 0, 24, 0),
    ("GI4-160-32", 'I', "4", 160, 0, 32, 0),
    ("GI4-256-32", 'I', "4", 256, 0, 32, 0),
    ("GNl-80-16", 'N', "l", 80, 0, 16, 0),
    ("GNl-128-24", 'N', "l", 128, 0, 24, 0),
    ("GNb-84-24", 'N', "b", 84, 0, 24, 0),
    ("GNb-170-32", 'N', "b", 170, 0, 32, 0),
    ("GA3.1-96-24", 'A', "3.1", 96, 0, 24, 0),
];

#[test]
fn w1_gpu_table_pieces() {
    for &(piece, vendor, generation, cu, freq, vram, bw) in W1_GPUS {
        let name = format!("SCS-16V-64-500s_{piece}");
        let f = v2(&name);
        assert_eq!(
            f.gpu,
            Some(gpu(
                true,
                vendor,
                generation,
                Some(cu),
                freq,
                Some(vram),
                bw
            )),
            "{name}"
        );
        assert_eq!(f.to_v2(), name);
        let vgpu = format!("SCS-16V-64_g{}", &piece[1..]);
        assert_eq!(v2(&vgpu).gpu.map(|g| g.passthrough), Some(false), "{vgpu}");
        // short form drops only the `h` modifiers
        let short = f.short();
        assert_eq!(
            short.gpu,
            Some(gpu(true, vendor, generation, Some(cu), 0, Some(vram), 0)),
            "{name}"
        );
    }
}

#[test]
fn all_gpu_generations_of_the_tables() {
    let table: &[(char, &[&str])] = &[
        (
            'N',
            &["", "f", "k", "m", "p", "v", "t", "a", "l", "g", "b", "u"],
        ),
        (
            'A',
            &[
                "", "0.4", "0.5", "1", "1.1", "2", "2.1", "3", "3.1", "3.5", "4", "4.1", "5.1",
            ],
        ),
        ('I', &["", "0.9", "0.95", "1", "2", "3", "4"]),
    ];
    for (vendor, gens) in table {
        for generation in *gens {
            let name = format!("SCS-4C-16_G{vendor}{generation}-8-16");
            assert_eq!(
                v2(&name).gpu,
                Some(gpu(true, *vendor, generation, Some(8), 0, Some(16), 0)),
                "{name}"
            );
        }
    }
    for bad in [
        "SCS-4C-16_GNx",
        "SCS-4C-16_GA3.2",
        "SCS-4C-16_GA6",
        "SCS-4C-16_GI0.5",
    ] {
        assert!(parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn all_cpu_generations_of_the_tables() {
    let table: &[(char, u32)] = &[('i', 6), ('z', 6), ('a', 5), ('r', 0)];
    for &(vendor, max) in table {
        for generation in 0..=max {
            let name = format!("SCS-4C-16_{vendor}{generation}hh");
            assert_eq!(
                v2(&name).cpubrand,
                Some(brand(vendor, Some(generation), 2)),
                "{name}"
            );
        }
        let bad = format!("SCS-4C-16_{vendor}{}", max + 1);
        assert!(parse(&bad).is_err(), "{bad}");
    }
}

#[test]
fn round_trips_v2_to_v1_and_back() {
    let mut count = 0;
    for name in STANDARD_V2_VALID {
        let f = v2(name);
        let as_v1 = f.to_v1();
        assert_eq!(as_v1, v2_to_v1(name), "{name}");
        let back = v1(&as_v1);
        assert_eq!(back, f, "{name} -> {as_v1}");
        assert_eq!(back.to_v2(), *name);
        assert_eq!(v1_to_v2(&as_v1), *name);
        count += 1;
    }
    for name in STANDARD_V1_VALID {
        let f = v1(name);
        let as_v2 = f.to_v2();
        assert_eq!(as_v2, v1_to_v2(name), "{name}");
        assert_eq!(v2(&as_v2), f, "{name} -> {as_v2}");
        assert_eq!(v2_to_v1(&as_v2), *name);
        count += 1;
    }
    assert_eq!(count, STANDARD_V2_VALID.len() + STANDARD_V1_VALID.len());
    // concrete pairs
    assert_eq!(v2("SCS-2V-4-20s_kvm").to_v1(), "SCS-2V:4:20s-kvm");
    assert_eq!(v1("SCS-2V:4:20s-kvm").to_v2(), "SCS-2V-4-20s_kvm");
    assert_eq!(
        v2("SCS-16T-64-200s_GNa-72-24_ib").to_v1(),
        "SCS-16T:64:200s-GNa:72:24-ib"
    );
    assert_eq!(v2("SCS-2V-4-").to_v1(), "SCS-2V:4:");
}

#[test]
fn chy_does_not_round_trip_through_v1() {
    let f = v2("SCS-2V-4-20s_chy");
    assert_eq!(f.to_v1(), "SCS-2V:4:20s-chy");
    assert!(parse_v1(&f.to_v1()).is_err());
}

#[test]
fn text_conversions() {
    assert_eq!(v2_to_v1("SCS-2V-4-20s_kvm_z3"), "SCS-2V:4:20s-kvm-z3");
    assert_eq!(v1_to_v2("SCS-2V:4:20s-kvm-z3"), "SCS-2V-4-20s_kvm_z3");
    assert_eq!(v2_to_v1("SCS-1L-1"), "SCS-1L:1");
    assert_eq!(v1_to_v2("SCS-1L:1"), "SCS-1L-1");
}

#[test]
fn short_forms() {
    let cases: &[(&str, &str)] = &[
        ("SCS-2V-4-20s_kvm", "SCS-2V-4-20s"),
        ("SCS-2V-4", "SCS-2V-4"),
        ("SCS-8Ti-32-50p_i1", "SCS-8Ti-32-50p"),
        ("SCS-4C-16-2x200p_a1", "SCS-4C-16-2x200p_a"),
        ("SCS-4C-16_r0hh", "SCS-4C-16_r"),
        ("SCS-2C-4-10n_bms_z3hh", "SCS-2C-4-10n"),
        ("SCS-2C-4-10_kvm_hwv", "SCS-2C-4-10"),
        ("SCS-2C-4-_bms_z3h_GNa-64_ib", "SCS-2C-4-_GNa-64_ib"),
        (
            "SCS-16T-64-3x10s_bms_hwv_i3h_GNa-64_ib",
            "SCS-16T-64-3x10s_GNa-64_ib",
        ),
        ("SCS-16V-64-500s_GNa-14h-6hh", "SCS-16V-64-500s_GNa-14-6"),
        // dropping `h` can change the meaning on reparse (VRAM -> CU)
        ("SCS-2V-4_GNah-6", "SCS-2V-4_GNa-6"),
        (
            "SCS-2Li-4uo-3x_chy_hwv_a5h_gI0.95hh_ib",
            "SCS-2Li-4uo-3x_a_gI0.95_ib",
        ),
    ];
    for (name, short) in cases {
        let (f, _) = match parse(name) {
            Ok(x) => x,
            Err(e) => panic!("{name}: {e}"),
        };
        assert_eq!(f.short().to_v2(), *short, "{name}");
    }
    // The official check script's own self-test.
    assert_eq!(
        v1("SCS-16T:64:3x10s-GNa:64-ib").to_v2(),
        v2("SCS-16T-64-3x10s_bms_hwv_i3h_GNa-64_ib").short().to_v2()
    );
    // the short form of an `a`/`r` brand keeps only the vendor letter
    assert_eq!(
        v2("SCS-4C-16_a5hh").short().cpubrand,
        Some(brand('a', None, 0))
    );
    // a short name is its own short form
    let f = v2("SCS-4C-16-2x200p_a");
    assert_eq!(f.short(), f);
}

fn spec_of(name: &str) -> DerivedSpec {
    match compute_flavor_spec(name) {
        Ok(s) => s,
        Err(e) => panic!("{name}: {e}"),
    }
}

fn specs(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn derived_spec_examples_of_d1() {
    let s = spec_of("SCS-2V-4-20s_kvm");
    assert_eq!(s.cpus, 2);
    assert_eq!(s.ram, 4.0);
    assert_eq!(s.disk, Some(20));
    assert!(s.has_disk_part);
    assert_eq!(
        s.extra_specs,
        specs(&[
            ("scs:cpu-type", "shared-core"),
            ("scs:disk0-type", "ssd"),
            ("scs:name-v1", "SCS-2V:4:20s-kvm"),
            ("scs:name-v2", "SCS-2V-4-20s_kvm"),
            ("scs:name-v3", "SCS-2V:4:20s"),
            ("scs:name-v4", "SCS-2V-4-20s"),
        ])
    );
    assert_eq!(
        s.names(),
        vec![
            "SCS-2V:4:20s-kvm",
            "SCS-2V-4-20s_kvm",
            "SCS-2V:4:20s",
            "SCS-2V-4-20s"
        ]
    );

    let s = spec_of("SCS-2V-4");
    assert_eq!(s.disk, None);
    assert!(!s.has_disk_part);
    assert_eq!(
        s.extra_specs,
        specs(&[
            ("scs:cpu-type", "shared-core"),
            ("scs:name-v1", "SCS-2V:4"),
            ("scs:name-v2", "SCS-2V-4"),
        ])
    );
}

#[test]
fn derived_spec_further_cases() {
    let s = spec_of("SCS-4C-16-2x200p_a1");
    assert_eq!(
        s.extra_specs,
        specs(&[
            ("scs:cpu-type", "dedicated-core"),
            ("scs:disk0-type", "nvme"),
            ("scs:disk1-type", "nvme"),
            ("scs:name-v1", "SCS-4C:16:2x200p-a1"),
            ("scs:name-v2", "SCS-4C-16-2x200p_a1"),
            ("scs:name-v3", "SCS-4C:16:2x200p-a"),
            ("scs:name-v4", "SCS-4C-16-2x200p_a"),
        ])
    );
    assert_eq!(s.disk, Some(200));

    let s = spec_of("SCS-16T-64-3x10s_bms_hwv_i3h_GNa-64_ib");
    assert_eq!(
        s.extra_specs,
        specs(&[
            ("scs:cpu-type", "dedicated-thread"),
            ("scs:disk0-type", "ssd"),
            ("scs:disk1-type", "ssd"),
            ("scs:disk2-type", "ssd"),
            ("scs:name-v1", "SCS-16T:64:3x10s-bms-hwv-i3h-GNa:64-ib"),
            ("scs:name-v2", "SCS-16T-64-3x10s_bms_hwv_i3h_GNa-64_ib"),
            ("scs:name-v3", "SCS-16T:64:3x10s-GNa:64-ib"),
            ("scs:name-v4", "SCS-16T-64-3x10s_GNa-64_ib"),
        ])
    );

    // disk part without size: `disk` is None but the part exists; type defaults to network
    let s = spec_of("SCS-2V-4-");
    assert_eq!((s.disk, s.has_disk_part), (None, true));
    assert_eq!(
        s.extra_specs.get("scs:disk0-type").map(String::as_str),
        Some("network")
    );
    let s = spec_of("SCS-2V-4-10x");
    assert_eq!((s.disk, s.has_disk_part), (None, true));
    let disk_keys: Vec<&String> = s
        .extra_specs
        .keys()
        .filter(|k| k.starts_with("scs:disk"))
        .collect();
    assert_eq!(disk_keys.len(), 10);
    assert_eq!(
        s.extra_specs.get("scs:disk9-type").map(String::as_str),
        Some("network")
    );
    assert_eq!(s.extra_specs.get("scs:disk10-type"), None);

    // hdd, and crowded core
    let s = spec_of("SCS-1L-1-5h");
    assert_eq!(
        s.extra_specs,
        specs(&[
            ("scs:cpu-type", "crowded-core"),
            ("scs:disk0-type", "hdd"),
            ("scs:name-v1", "SCS-1L:1:5h"),
            ("scs:name-v2", "SCS-1L-1-5h"),
        ])
    );

    // names are printed canonically, not as given
    let s = spec_of("SCS-02V-4.0-010n_z0");
    assert_eq!(
        s.names(),
        vec![
            "SCS-2V:4:10n-z",
            "SCS-2V-4-10n_z",
            "SCS-2V:4:10n",
            "SCS-2V-4-10n"
        ]
    );

    // chy: the v1 variant is produced although v1 cannot parse it
    let s = spec_of("SCS-2V-4_chy");
    assert_eq!(
        s.names(),
        vec!["SCS-2V:4-chy", "SCS-2V-4_chy", "SCS-2V:4", "SCS-2V-4"]
    );

    // scs-0103 uses the current syntax only
    assert!(compute_flavor_spec("SCS-2V:4").is_err());
    assert_eq!(spec_of("SCS-1V-0.5").ram_mib(), 512.0);
}

/// scs-0103 standard flavors (d.4): (name, vcpus, RAM MiB, disk GB (0 = none),
/// cpu-type, disk0-type, name-v1).
type Std0103Row = (
    &'static str,
    u32,
    u32,
    u32,
    &'static str,
    Option<&'static str>,
    &'static str,
);

const SCS_0103_FLAVORS: &[Std0103Row] = &[
    ("SCS-1V-4", 1, 4096, 0, "shared-core", None, "SCS-1V:4"),
    ("SCS-2V-8", 2, 8192, 0, "shared-core", None, "SCS-2V:8"),
    ("SCS-4V-16", 4, 16384, 0, "shared-core", None, "SCS-4V:16"),
    ("SCS-8V-32", 8, 32768, 0, "shared-core", None, "SCS-8V:32"),
    ("SCS-1V-2", 1, 2048, 0, "shared-core", None, "SCS-1V:2"),
    ("SCS-2V-4", 2, 4096, 0, "shared-core", None, "SCS-2V:4"),
    ("SCS-4V-8", 4, 8192, 0, "shared-core", None, "SCS-4V:8"),
    ("SCS-8V-16", 8, 16384, 0, "shared-core", None, "SCS-8V:16"),
    (
        "SCS-16V-32",
        16,
        32768,
        0,
        "shared-core",
        None,
        "SCS-16V:32",
    ),
    ("SCS-1V-8", 1, 8192, 0, "shared-core", None, "SCS-1V:8"),
    ("SCS-2V-16", 2, 16384, 0, "shared-core", None, "SCS-2V:16"),
    ("SCS-4V-32", 4, 32768, 0, "shared-core", None, "SCS-4V:32"),
    ("SCS-1L-1", 1, 1024, 0, "crowded-core", None, "SCS-1L:1"),
    (
        "SCS-2V-4-20s",
        2,
        4096,
        20,
        "shared-core",
        Some("ssd"),
        "SCS-2V:4:20s",
    ),
    (
        "SCS-4V-16-100s",
        4,
        16384,
        100,
        "shared-core",
        Some("ssd"),
        "SCS-4V:16:100s",
    ),
    (
        "SCS-1V-4-10",
        1,
        4096,
        10,
        "shared-core",
        Some("network"),
        "SCS-1V:4:10",
    ),
    (
        "SCS-2V-8-20",
        2,
        8192,
        20,
        "shared-core",
        Some("network"),
        "SCS-2V:8:20",
    ),
    (
        "SCS-4V-16-50",
        4,
        16384,
        50,
        "shared-core",
        Some("network"),
        "SCS-4V:16:50",
    ),
    (
        "SCS-8V-32-100",
        8,
        32768,
        100,
        "shared-core",
        Some("network"),
        "SCS-8V:32:100",
    ),
    (
        "SCS-1V-2-5",
        1,
        2048,
        5,
        "shared-core",
        Some("network"),
        "SCS-1V:2:5",
    ),
    (
        "SCS-2V-4-10",
        2,
        4096,
        10,
        "shared-core",
        Some("network"),
        "SCS-2V:4:10",
    ),
    (
        "SCS-4V-8-20",
        4,
        8192,
        20,
        "shared-core",
        Some("network"),
        "SCS-4V:8:20",
    ),
    (
        "SCS-8V-16-50",
        8,
        16384,
        50,
        "shared-core",
        Some("network"),
        "SCS-8V:16:50",
    ),
    (
        "SCS-16V-32-100",
        16,
        32768,
        100,
        "shared-core",
        Some("network"),
        "SCS-16V:32:100",
    ),
    (
        "SCS-1V-8-20",
        1,
        8192,
        20,
        "shared-core",
        Some("network"),
        "SCS-1V:8:20",
    ),
    (
        "SCS-2V-16-50",
        2,
        16384,
        50,
        "shared-core",
        Some("network"),
        "SCS-2V:16:50",
    ),
    (
        "SCS-4V-32-100",
        4,
        32768,
        100,
        "shared-core",
        Some("network"),
        "SCS-4V:32:100",
    ),
    (
        "SCS-1L-1-5",
        1,
        1024,
        5,
        "crowded-core",
        Some("network"),
        "SCS-1L:1:5",
    ),
    (
        "SCS-16V-64",
        16,
        65536,
        0,
        "shared-core",
        None,
        "SCS-16V:64",
    ),
    ("SCS-8V-64", 8, 65536, 0, "shared-core", None, "SCS-8V:64"),
    (
        "SCS-16V-128",
        16,
        131072,
        0,
        "shared-core",
        None,
        "SCS-16V:128",
    ),
];

#[test]
fn scs_0103_standard_flavor_specs() {
    assert_eq!(SCS_0103_FLAVORS.len(), 31);
    for &(name, cpus, ram_mib, disk_gb, cpu_type, disk0, name_v1) in SCS_0103_FLAVORS {
        let s = spec_of(name);
        assert_eq!(s.cpus, cpus, "{name}");
        assert_eq!(s.ram_mib(), f64::from(ram_mib), "{name}");
        assert_eq!(s.has_disk_part, disk_gb != 0, "{name}");
        assert_eq!(s.disk.unwrap_or(0), disk_gb, "{name}");
        let mut expected = specs(&[
            ("scs:cpu-type", cpu_type),
            ("scs:name-v1", name_v1),
            ("scs:name-v2", name),
        ]);
        if let Some(t) = disk0 {
            expected.insert("scs:disk0-type".to_string(), t.to_string());
        }
        assert_eq!(s.extra_specs, expected, "{name}");
        // name-v1 is the name with every `-` after `SCS-` turned into `:`
        assert_eq!(name_v1, format!("SCS-{}", name[4..].replace('-', ":")));
    }
}

#[test]
fn ram_rounding_of_the_semantics_check() {
    let cases: &[(u64, f64)] = &[
        (6093, 6.0),
        (6092, 5.9),
        (4096, 4.0),
        (1024, 1.0),
        (512, 0.5),
        (3584, 3.5),
        (0, 0.0),
        (4044, 3.9),
        (4045, 4.0),
        (10752, 10.5),
        (131072, 128.0),
    ];
    for &(mib, gib) in cases {
        assert_eq!(ram_gib_rounded(mib), gib, "{mib} MiB");
    }
}

fn sem(name: &str, vcpus: u32, ram_mib: u64, disk_gb: u64) -> SemanticsOutcome {
    let (f, _) = match parse(name) {
        Ok(x) => x,
        Err(e) => panic!("{name}: {e}"),
    };
    match semantics_problems(&f, vcpus, ram_mib, disk_gb) {
        Ok(o) => o,
        Err(e) => panic!("{name}: unexpected abort {e}"),
    }
}

#[test]
fn semantics_decisions() {
    use SemanticsNote as N;
    use SemanticsProblem as P;
    // (name, vcpus, ram MiB, disk GB, problems, notes)
    type Case = (&'static str, u32, u64, u64, Vec<P>, Vec<N>);
    let cases: Vec<Case> = vec![
        ("SCS-2V-4", 2, 4096, 0, vec![], vec![]),
        ("SCS-2V-4-20s", 2, 4096, 20, vec![], vec![]),
        ("SCS-2V:4:20s", 2, 4096, 20, vec![], vec![]),
        (
            "SCS-2V-4",
            1,
            4096,
            0,
            vec![P::CpuOverpromise {
                flavor_vcpus: 1,
                name_cpus: 2,
            }],
            vec![],
        ),
        (
            "SCS-2V-4",
            4,
            4096,
            0,
            vec![],
            vec![N::CpuUnderpromise {
                flavor_vcpus: 4,
                name_cpus: 2,
            }],
        ),
        ("SCS-2V-6", 2, 6093, 0, vec![], vec![]),
        (
            "SCS-2V-6",
            2,
            6092,
            0,
            vec![P::RamOverpromise {
                flavor_gib: 5.9,
                name_gib: 6.0,
            }],
            vec![N::UnevenRam { flavor_gib: 5.9 }],
        ),
        (
            "SCS-2V-4",
            2,
            8192,
            0,
            vec![],
            vec![N::RamUnderpromise {
                flavor_gib: 8.0,
                name_gib: 4.0,
            }],
        ),
        ("SCS-2V-3.5", 2, 3584, 0, vec![], vec![]),
        (
            "SCS-2V-10.5",
            2,
            10752,
            0,
            vec![],
            vec![N::UnevenRam { flavor_gib: 10.5 }],
        ),
        (
            "SCS-2V-4-20s",
            2,
            4096,
            10,
            vec![P::DiskOverpromise {
                flavor_gb: 10,
                name_gb: 20,
            }],
            vec![],
        ),
        (
            "SCS-2V-4-20s",
            2,
            4096,
            30,
            vec![],
            vec![N::DiskUnderpromise {
                flavor_gb: 30,
                name_gb: 20,
            }],
        ),
        (
            "SCS-2V-4",
            2,
            4096,
            20,
            vec![],
            vec![N::DiskUnderpromise {
                flavor_gb: 20,
                name_gb: 0,
            }],
        ),
        (
            "SCS-2V-4-30",
            2,
            4096,
            30,
            vec![],
            vec![N::NonStandardDiskSize { name_gb: 30 }],
        ),
        // the disk size counts once, whatever the disk count
        ("SCS-2V-4-3x10", 2, 4096, 10, vec![], vec![]),
        (
            "SCS-4C-16-100_kvm_z3",
            2,
            15000,
            50,
            vec![
                P::CpuOverpromise {
                    flavor_vcpus: 2,
                    name_cpus: 4,
                },
                P::RamOverpromise {
                    flavor_gib: 14.6,
                    name_gib: 16.0,
                },
                P::DiskOverpromise {
                    flavor_gb: 50,
                    name_gb: 100,
                },
            ],
            vec![N::UnevenRam { flavor_gib: 14.6 }],
        ),
    ];
    for (name, vcpus, ram, disk_gb, problems, notes) in cases {
        let out = sem(name, vcpus, ram, disk_gb);
        assert_eq!(out.problems, problems, "{name} {vcpus} {ram} {disk_gb}");
        assert_eq!(out.notes, notes, "{name} {vcpus} {ram} {disk_gb}");
        assert_eq!(out.passed(), out.problems.is_empty());
    }
}

#[test]
fn semantics_abort_on_disk_part_without_size() {
    for name in [
        "SCS-2V-4-",
        "SCS-2V-4-n",
        "SCS-2V-4-10x",
        "SCS-2V:4:",
        "SCS-2V-4-3xs_kvm",
    ] {
        let (f, _) = match parse(name) {
            Ok(x) => x,
            Err(e) => panic!("{name}: {e}"),
        };
        // even a flavor that overdelivers everything aborts
        match semantics_problems(&f, 64, 1 << 20, 1000) {
            Ok(o) => panic!("{name} must abort, got {o:?}"),
            Err(e) => assert!(e.reason.contains("without a size"), "{name}: {e}"),
        }
    }
}

#[test]
fn semantics_log_lines_in_official_order() {
    let out = sem("SCS-4C-16-30", 8, 15000, 10);
    assert!(!out.passed());
    assert_eq!(
        out.log_lines("SCS-4C-16-30"),
        vec![
            "Flavor SCS-4C-16-30 CPU underpromise: 8 > 4",
            "Flavor SCS-4C-16-30 has a discouraged uneven RAM size of 14.6 GiB",
            "Flavor SCS-4C-16-30 RAM overpromise: 14.6 < 16.0",
            "Flavor SCS-4C-16-30 has non-standard disk size 30 (recommended: 5, 10, 20, 50, 100, 200, ...)",
            "Flavor SCS-4C-16-30 disk overpromise: 10 < 30",
        ]
    );
}
