package eu.caas.companion

import java.io.File
import javax.xml.parsers.DocumentBuilderFactory
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import org.junit.jupiter.api.Test
import org.w3c.dom.Element

/**
 * The app speaks Spanish, Portuguese and English (issue 15: every string was hard-coded English).
 * Every text has its three translations with the same placeholders, and every string the app's
 * Kotlin names exists: a missing one would crash the screen that shows it.
 */
class StringResourcesTest {
    private val app: File = generateSequence(File("").absoluteFile) { it.parentFile }
        .map { it.resolve("android/app") }
        .first { it.resolve("src/main/res/values/strings.xml").isFile }

    /** Name -> the texts (one for a string, one per quantity for plurals), per language folder. */
    private fun texts(folder: String): Map<String, List<Pair<String?, String>>> {
        val document = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(app.resolve("src/main/res/$folder/strings.xml"))
        val entries = document.documentElement.childNodes
        return (0 until entries.length).mapNotNull { entries.item(it) as? Element }.associate { element ->
            val texts = if (element.tagName == "plurals") {
                val items = element.getElementsByTagName("item")
                (0 until items.length).map { (items.item(it) as Element).let { item -> item.getAttribute("quantity") to item.textContent } }
            } else {
                listOf(null to element.textContent)
            }
            "${element.tagName}/${element.getAttribute("name")}" to texts
        }
    }

    private fun placeholders(text: Pair<String?, String>): List<String> =
        Regex("%(\\d+\\$)?[sd]").findAll(text.second).map { it.value }.sorted().toList()

    @Test
    fun `every text is in Spanish and Portuguese with the same placeholders`() {
        val english = texts("values").filterKeys { it != "string/app_name" }
        for (folder in listOf("values-es", "values-pt")) {
            val translated = texts(folder)
            assertEquals(english.keys, translated.keys, "$folder names")
            for ((name, texts) in english) {
                val other = translated.getValue(name)
                assertEquals(texts.map { it.first }, other.map { it.first }, "$folder $name quantities")
                assertEquals(texts.map(::placeholders), other.map(::placeholders), "$folder $name placeholders")
                assertTrue(other.all { it.second.isNotBlank() }, "$folder $name")
            }
        }
    }

    @Test
    fun `every string the app's Kotlin names exists`() {
        val defined = texts("values").keys.map { it.replace('/', '.') }.toSet()
        val used = app.resolve("src/main/kotlin").walk().filter { it.extension == "kt" }
            .flatMap { file -> Regex("R\\.(string|plurals)\\.(\\w+)").findAll(file.readText()).map { "${it.groupValues[1]}.${it.groupValues[2]}" to file.name } }
            .toList()
        assertTrue(used.size > 100, "the app's texts are resources: ${used.size}")
        val missing = used.filter { (name, _) -> name !in defined }
        assertEquals(emptyList(), missing)
    }
}
