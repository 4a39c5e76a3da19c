package eu.caas.companion.app.ui

import androidx.compose.runtime.Composable
import androidx.compose.runtime.ReadOnlyComposable
import androidx.compose.runtime.staticCompositionLocalOf

/**
 * The app's texts by resource id (`R.string`, `R.plurals`). On the phone they are Android's
 * resources in the phone's language; the screens' tests on the desktop JVM read the same
 * `strings.xml` files. The screens ask for texts through this rather than `stringResource`, so
 * they compile and run on the desktop too.
 */
interface Texts {
    fun string(id: Int, vararg args: Any): String

    fun plural(id: Int, count: Int, vararg args: Any): String
}

val LocalTexts = staticCompositionLocalOf<Texts> { error("the app provides its texts") }

@Composable
@ReadOnlyComposable
fun text(id: Int, vararg args: Any): String = LocalTexts.current.string(id, *args)

@Composable
@ReadOnlyComposable
fun plural(id: Int, count: Int, vararg args: Any): String = LocalTexts.current.plural(id, count, *args)
