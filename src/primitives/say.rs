//! `warn`: a script's warning, said on stderr whatever the verbosity, as rigger's own
//! warnings are.

use std::sync::Arc;

use rhai::Engine;

use super::call::primitive;
use super::context::ScriptContext;

pub fn register(engine: &mut Engine, cx: &Arc<ScriptContext>) {
    primitive! { engine, cx,
        /// Says `text` on stderr as a warning (`warning: text`), even with `--quiet`:
        /// something the run goes on with but the user should know, such as a release past
        /// its end of life. `print` is the run's output, `debug` its chatter.
        fn warn(c, text: &str) {
            let _ = c;
            crate::base::output::to_stderr(&format!("warning: {text}\n"));
            Ok(())
        }
    }
}
