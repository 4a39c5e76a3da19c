//! Android start-up: reqwest's rustls checks server certificates with Android's own verifier
//! (the system trust store, user-installed CAs per the app's network security config), which
//! calls into the JVM and so needs the app's context once, before the first request. The app
//! calls `PlatformTls.init(context)` from `Application.onCreate`.

use jni::errors::ThrowRuntimeExAndDefault;
use jni::objects::{JClass, JObject};
use jni::{EnvUnowned, jni_mangle};

// The JNI entry point must be exported unmangled; that is all the unsafe code here.
#[allow(unsafe_code)]
#[jni_mangle("eu.caas.companion.android.PlatformTls")]
pub fn init<'caller>(mut env: EnvUnowned<'caller>, _class: JClass<'caller>, context: JObject<'caller>) {
    env.with_env(|env| rustls_platform_verifier::android::init_with_env(env, context))
        .resolve::<ThrowRuntimeExAndDefault>();
}
