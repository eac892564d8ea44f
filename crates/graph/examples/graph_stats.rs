//! Prints the size of the graph of a workspace: `cargo run --example graph_stats -- DIR [CACHE]`.

fn main() {
    let mut args = std::env::args().skip(1);
    let root = args.next().unwrap_or_else(|| ".".to_owned());
    let cache_dir = args.next().map(std::path::PathBuf::from);
    let options = hourglass_graph::BuildOptions { cache_dir };
    match hourglass_graph::Graph::build(std::path::Path::new(&root), &options) {
        Ok(graph) => {
            println!("{:#?}", graph.stats());
            for error in graph.parse_errors() {
                println!("{error:?}");
            }
        }
        Err(error) => eprintln!("error: {error}"),
    }
}
