//! Rewrites the commit a coverage map claims, for measurements that ask
//! what a map of another commit would select (it does not change what the
//! map says of the tests): `map_commit MAP COMMIT OUT`. Also prints the
//! map's size: tests, keys, distinct sets.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [map, commit, out] = args.as_slice() else {
        eprintln!("usage: map_commit MAP COMMIT OUT");
        std::process::exit(2);
    };
    let mut map =
        hourglass_coverage::CoverageMap::read(std::path::Path::new(map)).unwrap_or_else(|error| {
            eprintln!("{error}");
            std::process::exit(2)
        });
    println!("{} tests, {} keys", map.tests.len(), map.key_count());
    map.commit.clone_from(commit);
    map.write(std::path::Path::new(out))
        .unwrap_or_else(|error| {
            eprintln!("{error}");
            std::process::exit(2)
        });
}
