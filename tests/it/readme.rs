//! The README's command-line walk-through, run from the README's own text against a fresh
//! database, so the README cannot drift from the product.

use std::path::Path;
use std::process::Command;

/// The shell block after the walk-through marker, without the install step (the test runs the
/// binary it built).
fn walkthrough(readme: &str) -> String {
    let marker = readme.find("<!-- walkthrough:").expect("the README marks its walk-through");
    let after = &readme[marker..];
    let start = after.find("```sh\n").expect("a shell block follows the marker") + "```sh\n".len();
    let end = after[start..].find("```").expect("the shell block ends");
    after[start..start + end]
        .lines()
        .filter(|line| !line.starts_with("cargo install"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_readme_walkthrough_runs_as_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let block = walkthrough(&readme);
    let dir = tempfile::tempdir().unwrap();
    for shared in ["demo", "keepable.example.toml"] {
        std::os::unix::fs::symlink(root.join(shared), dir.path().join(shared)).unwrap();
    }
    let script = format!(
        "set -euo pipefail\nkeepable() {{ \"{}\" \"$@\"; }}\n{block}\n",
        env!("CARGO_BIN_EXE_keepable")
    );
    let mut command = Command::new("bash");
    command.arg("-c").arg(&script).current_dir(dir.path());
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("KEEPABLE_")) {
        command.env_remove(name);
    }
    let output = command.env_remove("DATABASE_URL").output().unwrap();
    let (stdout, stderr) =
        (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the walk-through failed:\n{stdout}\n{stderr}");
    for step in [
        "this needs leadership approval",
        "Leadership has the evidence and will decide",
        "You are not authorised to decide approvals.",
        "refused, and audited",
        "was *approved* by",
        "It is now in the library",
        "Handover H",
        "acknowledged the handover",
        "deal.won",
    ] {
        let plain = step.replace('*', "");
        assert!(
            stdout.contains(&plain) || stderr.contains(&plain),
            "the walk-through should show '{plain}':\n{stdout}\n{stderr}"
        );
    }
    assert!(dir.path().join("walkthrough.db").exists(), "it used a database of its own");
}
