//! Prints, per merged change of a repository's first-parent history, the
//! commit, files, lines added and lines deleted, newest first, one line each:
//! the figures `hourglass plan` counts, in the shape of
//! `benches/numstat_check.sh`'s reading of `git log --first-parent --numstat
//! --no-renames`.
//!
//! `cargo run --release -p hourglass-git --example numstat -- <repository>`

fn main() {
    let Some(repo) = std::env::args().nth(1) else {
        eprintln!("usage: numstat <repository>");
        std::process::exit(2);
    };
    let options = hourglass_git::ActivityOptions {
        release_pattern: None,
        ..hourglass_git::ActivityOptions::default()
    };
    let activity = match hourglass_git::activity(std::path::Path::new(&repo), &options) {
        Ok(activity) => activity,
        Err(e) => {
            eprintln!("{repo}: {e}");
            std::process::exit(1);
        }
    };
    for c in activity.changes {
        println!(
            "{} {} {} {}",
            c.commit, c.files, c.lines_added, c.lines_deleted
        );
    }
}
