use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(gohang::app::main())
}
