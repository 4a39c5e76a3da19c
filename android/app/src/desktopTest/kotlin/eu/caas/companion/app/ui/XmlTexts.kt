package eu.caas.companion.app.ui

import eu.caas.companion.app.R
import java.io.File
import java.util.Locale
import javax.xml.parsers.DocumentBuilderFactory
import org.w3c.dom.Element

/**
 * The app's texts read from its `strings.xml` of one language, as Android would resolve them:
 * the screens' tests see the words a Spanish or Portuguese customer sees.
 */
class XmlTexts(private val locale: Locale) : Texts {
    private val strings = mutableMapOf<String, String>()
    private val plurals = mutableMapOf<String, Map<String, String>>()

    init {
        val folder = if (locale.language == "en") "values" else "values-${locale.language}"
        val res = generateSequence(File("").absoluteFile) { it.parentFile }
            .map { it.resolve("android/app/src/main/res") }
            .first { it.isDirectory }
        for (file in listOf(res.resolve("values/strings.xml"), res.resolve("$folder/strings.xml")).distinct()) {
            val root = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(file).documentElement
            val entries = root.childNodes
            for (element in (0 until entries.length).mapNotNull { entries.item(it) as? Element }) {
                val name = element.getAttribute("name")
                if (element.tagName == "plurals") {
                    val items = element.getElementsByTagName("item")
                    plurals[name] = (0 until items.length).map { items.item(it) as Element }
                        .associate { it.getAttribute("quantity") to unescape(it.textContent) }
                } else {
                    strings[name] = unescape(element.textContent)
                }
            }
        }
    }

    private fun unescape(text: String) = text.replace("\\'", "'").replace("\\\"", "\"")

    override fun string(id: Int, vararg args: Any): String =
        String.format(locale, strings.getValue(name(R.string::class.java, id)), *args)

    override fun plural(id: Int, count: Int, vararg args: Any): String {
        val forms = plurals.getValue(name(R.plurals::class.java, id))
        return String.format(locale, forms[if (count == 1) "one" else "other"] ?: forms.getValue("other"), *args)
    }

    /** The resource's name, from the R class generated for the compile. */
    private fun name(kind: Class<*>, id: Int): String =
        kind.fields.first { it.type == Int::class.javaPrimitiveType && it.getInt(null) == id }.name
}
