/* Normalization in C: rules.normalize.normalize_reference, the same text out. */
#include "fastpath.h"

/* rules.normalize.tidy_reference: what a code point becomes; -1 drops it, ' ' and '\n'
 * mark whitespace (a run collapses to one space, or one line break if it holds one). */
static Py_UCS1 ascii_tidy[128]; /* tidy_char for ASCII, filled by fill_ascii_tidy */

static void fill_ascii_tidy(void) {
    for (Py_UCS4 c = 0; c < 128; c++) {
        if (c >= 'A' && c <= 'Z')
            ascii_tidy[c] = c + ('a' - 'A');
        else if (c == '`') /* Markdown code quotes read as spaces */
            ascii_tidy[c] = ' ';
        else if (c == '\n')
            ascii_tidy[c] = '\n';
        else
            ascii_tidy[c] = Py_UNICODE_ISSPACE(c) ? ' ' : c;
    }
}

static inline Py_UCS4 tidy_char(Py_UCS4 c) {
    if (c < 0x80)
        return ascii_tidy[c];
    switch (c) {
    case 0x00AD: case 0x034F: case 0x061C: case 0x115F: case 0x1160: case 0x17B4:
    case 0x17B5: case 0x180E: case 0xFEFF: /* invisible format characters */
        return (Py_UCS4)-1;
    case 0x2018: case 0x2019: case 0x02BC: case 0x2032: case 0xFF07: /* apostrophes */
        return '\'';
    case 0x0085: case 0x2028: case 0x2029: /* line separators */
        return '\n';
    }
    if ((c >= 0x200B && c <= 0x200F) || (c >= 0x202A && c <= 0x202E) ||
        (c >= 0x2060 && c <= 0x2064) || (c >= 0x2066 && c <= 0x206F))
        return (Py_UCS4)-1;
    if (c >= 0xD800 && c <= 0xDFFF) /* a lone surrogate: invalid Unicode from broken JSON */
        return 0xFFFD;
    return Py_UNICODE_ISSPACE(c) ? ' ' : c;
}

/* One pass of tidy_char and the whitespace rule, then "n't" -> "nt"; the output has the
 * input's kind (a lone surrogate becomes U+FFFD, of the same width). Returns the length. */
#define TIDY_LOOP(TYPE)                                                                    \
    {                                                                                      \
        const TYPE *in = data;                                                             \
        TYPE *out = buffer;                                                                \
        TYPE pending = 0; /* whitespace seen since the last character kept */              \
        for (Py_ssize_t i = 0; i < length; i++) {                                          \
            Py_UCS4 c = tidy_char(in[i]);                                                  \
            if (c == (Py_UCS4)-1)                                                          \
                continue;                                                                  \
            if (c == ' ' || c == '\n') {                                                   \
                if (pending != '\n')                                                       \
                    pending = (TYPE)c;                                                     \
                continue;                                                                  \
            }                                                                              \
            if (pending && size)                                                           \
                out[size++] = pending;                                                     \
            pending = 0;                                                                   \
            out[size++] = (TYPE)c;                                                         \
        }                                                                                  \
        for (Py_ssize_t i = 0; i < size; i++)                                              \
            if (!(out[i] == '\'' && i > 0 && out[i - 1] == 'n' && i + 1 < size &&          \
                  out[i + 1] == 't'))                                                      \
                out[kept++] = out[i];                                                      \
    }

static PyObject *tidy(PyObject *text) {
    Py_ssize_t length = PyUnicode_GET_LENGTH(text), size = 0, kept = 0;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    void *buffer = PyMem_Malloc((length ? length : 1) * kind);
    if (buffer == NULL)
        return PyErr_NoMemory();
    if (kind == PyUnicode_1BYTE_KIND)
        TIDY_LOOP(Py_UCS1)
    else if (kind == PyUnicode_2BYTE_KIND)
        TIDY_LOOP(Py_UCS2)
    else
        TIDY_LOOP(Py_UCS4)
    PyObject *result;
    if (PyUnicode_IS_ASCII(text)) { /* the common case: no need to look for the widest */
        result = PyUnicode_New(kept, 127);
        if (result != NULL)
            memcpy(PyUnicode_DATA(result), buffer, kept);
    } else {
        result = PyUnicode_FromKindAndData(kind, buffer, kept);
    }
    PyMem_Free(buffer);
    return result;
}

static PyObject *unicodedata_normalize, *nfkc, *casefold_name;

/* rules.normalize.normalize_reference */
PyObject *normalize_text(PyObject *text) {
    if (PyUnicode_CheckExact(text) && PyUnicode_IS_ASCII(text)) /* NFKC, case folding: no-ops */
        return tidy(text);
    PyObject *exact = PyUnicode_FromObject(text); /* a str subclass's methods must not run */
    if (exact == NULL)
        return NULL;
    if (PyUnicode_IS_ASCII(exact)) {
        PyObject *result = tidy(exact);
        Py_DECREF(exact);
        return result;
    }
    PyObject *composed = PyObject_CallFunctionObjArgs(unicodedata_normalize, nfkc, exact, NULL);
    Py_DECREF(exact);
    if (composed == NULL)
        return NULL;
    PyObject *folded = PyUnicode_CheckExact(composed)
                           ? PyObject_CallMethodNoArgs(composed, casefold_name)
                           : NULL;
    Py_DECREF(composed);
    if (folded == NULL || !PyUnicode_CheckExact(folded)) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "NFKC and case folding did not give a str");
        Py_XDECREF(folded);
        return NULL;
    }
    PyObject *result = tidy(folded);
    Py_DECREF(folded);
    return result;
}

PyObject *normalize_function(PyObject *module, PyObject *text) {
    if (!PyUnicode_Check(text))
        return PyErr_Format(PyExc_TypeError, "normalize() takes a str, not %T", text);
    return normalize_text(text);
}


int normalize_init(void) {
    fill_ascii_tidy();
    PyObject *unicodedata = PyImport_ImportModule("unicodedata");
    if (unicodedata == NULL)
        return -1;
    unicodedata_normalize = PyObject_GetAttrString(unicodedata, "normalize");
    Py_DECREF(unicodedata);
    nfkc = PyUnicode_InternFromString("NFKC");
    casefold_name = PyUnicode_InternFromString("casefold");
    return unicodedata_normalize && nfkc && casefold_name ? 0 : -1;
}
