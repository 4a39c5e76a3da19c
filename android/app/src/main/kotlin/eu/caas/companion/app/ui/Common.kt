package eu.caas.companion.app.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.ColumnScope
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Scaffold
import androidx.compose.material3.SnackbarHost
import androidx.compose.material3.SnackbarHostState
import androidx.compose.material3.Text
import androidx.compose.material3.TopAppBar
import androidx.compose.material3.pulltorefresh.PullToRefreshBox
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.remember
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import eu.caas.companion.presentation.ScreenStatus

/**
 * A screen: a title bar, a scrolling column (pulled to refresh when [onRefresh] is given), and the
 * view model's notice shown once as a snackbar.
 */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun Screen(
    title: String,
    status: ScreenStatus? = null,
    refreshing: Boolean = false,
    onRefresh: (() -> Unit)? = null,
    content: @Composable ColumnScope.() -> Unit,
) {
    val snackbar = remember { SnackbarHostState() }
    val notice = status?.notice?.collectAsStateWithLifecycle()?.value
    val text = notice?.let { noticeText(it) }
    LaunchedEffect(notice) {
        if (text != null) {
            snackbar.showSnackbar(text)
            status.dismiss()
        }
    }
    Scaffold(topBar = { TopAppBar(title = { Text(title) }) }, snackbarHost = { SnackbarHost(snackbar) }) { padding ->
        val column = @Composable {
            Column(
                Modifier.fillMaxSize().padding(16.dp).verticalScroll(rememberScrollState()),
                verticalArrangement = Arrangement.spacedBy(12.dp),
                content = content,
            )
        }
        if (onRefresh != null) {
            PullToRefreshBox(refreshing, onRefresh, Modifier.fillMaxSize().padding(padding)) { column() }
        } else {
            Box(Modifier.fillMaxSize().padding(padding)) { column() }
        }
    }
}

@Composable
fun Section(title: String) {
    Text(title, style = MaterialTheme.typography.titleMedium)
}

/** Whether the screen's view model is running an action (its buttons wait meanwhile). */
@Composable
fun ScreenStatus.isBusy(): Boolean {
    val busy by busy.collectAsStateWithLifecycle()
    return busy
}
