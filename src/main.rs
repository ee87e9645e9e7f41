fn main() -> std::process::ExitCode {
    rigger::cli::main()
}
