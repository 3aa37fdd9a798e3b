/* rules._fastpath: the engine's per-message work in C.
 *
 * rules/engine.py compiles a rulebook into flat tables (pattern groups, condition slots,
 * rules) and keeps, in Python, the reference implementation of what classifying a message
 * means (Engine._classify_reference and the functions it calls). This module does the
 * same work on the same tables without the interpreter's per-step cost: it walks the
 * Aho-Corasick automaton's hits, checks word boundaries, evaluates the rules that were hit,
 * builds their explanations and scores them. tests/unit/test_fastpath.py checks that the
 * two give identical results, field for field, on the corpora and on generated text.
 *
 * Nothing here is shared between calls except the read-only tables, so a Core may be used
 * from several threads.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <limits.h>
#include <math.h>

#define MAX_MATCHES_SHOWN 20 /* per rule, in the explanation (engine._MAX_MATCHES_SHOWN) */
#define N_LEVELS 4           /* P0..P3 (rules.schema.LEVELS) */

typedef struct {
    Py_ssize_t group, start, end;
} Hit;

typedef struct {
    Py_ssize_t target, start, end;
} TargetHit;

/* A growable array; it may start in a caller's (stack) buffer and move to the heap. */
typedef struct {
    Py_ssize_t length, capacity;
    void *items;
    int on_heap;
} Array;

typedef struct {
    int slot, target;
} Pair;

/* The Aho-Corasick automaton over every literal of the rulebook (code points). */
typedef struct {
    Py_UCS4 ch;
    int next;
} Edge;

typedef struct {
    int fail;             /* the node of the longest proper suffix that is in the trie */
    int edges, n_edges;   /* children: edges[edges .. edges + n_edges), sorted by ch */
    int literal;          /* the literal that ends here, or -1 */
    int output;           /* this node or the nearest on the fail chain with a literal; -1 */
} Node;

typedef struct {
    int length;           /* in code points */
    int n_groups;
    int *groups;          /* (left bounded, right bounded, group id) triples */
} Literal;

typedef struct {
    PyObject *channels; /* a frozenset, or NULL: any channel */
    int *match, *require, *unless;
    int n_match, n_require, n_unless;
    int negation; /* -1: the rule has no negations */
    Py_ssize_t window;
    int n_levels;
    int level_index[8];
    double weight;
    PyObject *fields[6]; /* id, description, levels, weight, category, kind */
} Rule;

typedef struct {
    PyObject_HEAD
    Node *nodes;
    Edge *edges;
    int n_nodes, n_literals;
    int root_ascii[128]; /* the root's children for ASCII, the common case: -1 none */
    Literal *literals;
    int n_groups, n_slots, n_rules, n_targets;
    Pair **group_pairs;
    int *group_n_pairs;
    int **group_rules;
    int *group_n_rules;
    Rule *rules;
    PyObject **target_names, **target_patterns;
    PyObject *level_names[N_LEVELS];
    double threshold;
    int default_priority;
    PyObject *default_category, *default_kind;
    int pages[N_LEVELS];
    PyTypeObject *match_type, *fired_type, *triage_type;
    PyObject *round_function;
    PyObject *regex_matching; /* RegexSet.matching(utf-8 bytes) -> [index], or NULL */
    PyObject *regex_spans;    /* _RegexHits.spans(text, bytes, indexes) -> [(group, start, end)] */
    int init_started, ready;  /* ready: every table loaded and checked */
} Core;

/* ------------------------------------------------------------------ small helpers */

static Array array_on(void *buffer, Py_ssize_t capacity) {
    return (Array){0, capacity, buffer, 0};
}

static void array_free(Array *array) {
    if (array->on_heap)
        PyMem_Free(array->items);
}

static int array_push(Array *array, const void *item, size_t size) {
    if (array->length == array->capacity) {
        Py_ssize_t capacity = array->capacity ? array->capacity * 2 : 16;
        void *grown = array->on_heap ? PyMem_Realloc(array->items, capacity * size)
                                     : PyMem_Malloc(capacity * size);
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        if (!array->on_heap && array->length)
            memcpy(grown, array->items, array->length * size);
        array->items = grown;
        array->capacity = capacity;
        array->on_heap = 1;
    }
    memcpy((char *)array->items + array->length * size, item, size);
    array->length++;
    return 0;
}

static int is_word_char(Py_UCS4 c) {
    /* rules.matchers.is_word_char: a letter, digit or "_" of a script that spaces words */
    return (c == '_' || Py_UNICODE_ISALNUM(c)) && c < 0x2E80;
}

static int is_clause_break(Py_UCS4 c) {
    /* engine._CLAUSE_BREAK */
    switch (c) {
    case ',': case '.': case ';': case ':': case '!': case '?': case '(': case ')':
    case '\n':
        return 1;
    default:
        return 0;
    }
}

/* A tuple subclass instance (a NamedTuple) from n new references, which it steals. */
static PyObject *new_record(PyTypeObject *type, PyObject **items, Py_ssize_t n) {
    PyObject *record = type->tp_alloc(type, n);
    if (record == NULL) {
        for (Py_ssize_t i = 0; i < n; i++)
            Py_XDECREF(items[i]);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        PyTuple_SET_ITEM(record, i, items[i]);
    return record;
}

static int int_list(PyObject *sequence, int **out, int *count) {
    PyObject *fast = PySequence_Fast(sequence, "expected a sequence of integers");
    if (fast == NULL)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    *out = PyMem_Calloc(n ? n : 1, sizeof(int));
    if (*out == NULL) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        long value = PyLong_AsLong(PySequence_Fast_GET_ITEM(fast, i));
        if ((value == -1 && PyErr_Occurred()) || value < INT_MIN || value > INT_MAX) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_OverflowError, "a table index does not fit an int");
            Py_DECREF(fast);
            PyMem_Free(*out);
            *out = NULL;
            return -1;
        }
        (*out)[i] = (int)value;
    }
    *count = (int)n;
    Py_DECREF(fast);
    return 0;
}

/* ------------------------------------------------------------------ normalization */

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
static PyObject *normalize_text(PyObject *text) {
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

static PyObject *normalize(PyObject *module, PyObject *text) {
    if (!PyUnicode_Check(text))
        return PyErr_Format(PyExc_TypeError, "normalize() takes a str, not %T", text);
    return normalize_text(text);
}

/* ------------------------------------------------------------------ tables */

/* The trie while it is built: each node's children as a linked list of these. */
typedef struct {
    Py_UCS4 ch;
    int next, sibling;
} TrieEdge;

static int trie_child(Node *nodes, TrieEdge *edges, int state, Py_UCS4 c) {
    for (int e = nodes[state].edges; e >= 0; e = edges[e].sibling)
        if (edges[e].ch == c)
            return edges[e].next;
    return -1;
}

static int load_literal(Core *self, Array *nodes, Array *edges, int index, PyObject *row) {
    PyObject *text, *groups;
    if (!PyArg_ParseTuple(row, "UO!", &text, &PyTuple_Type, &groups))
        return -1;
    Literal *literal = &self->literals[index];
    literal->length = (int)PyUnicode_GET_LENGTH(text);
    literal->n_groups = (int)PyTuple_GET_SIZE(groups);
    literal->groups = PyMem_Calloc(3 * literal->n_groups + 1, sizeof(int));
    if (literal->groups == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    if (literal->length == 0) {
        PyErr_SetString(PyExc_ValueError, "a literal is a non-empty text");
        return -1;
    }
    for (int g = 0; g < literal->n_groups; g++) {
        int left, right, id;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(groups, g), "ppi", &left, &right, &id))
            return -1;
        if (id < 0 || id >= self->n_groups) {
            PyErr_SetString(PyExc_ValueError, "a literal's group is outside the tables");
            return -1;
        }
        literal->groups[3 * g] = left;
        literal->groups[3 * g + 1] = right;
        literal->groups[3 * g + 2] = id;
    }
    int state = 0;
    for (Py_ssize_t i = 0; i < literal->length; i++) {
        Py_UCS4 c = PyUnicode_READ_CHAR(text, i);
        int next = trie_child(nodes->items, edges->items, state, c);
        if (next < 0) {
            Node node = {0, -1, 0, -1, -1};
            TrieEdge edge = {c, (int)nodes->length, ((Node *)nodes->items)[state].edges};
            if (array_push(nodes, &node, sizeof node) < 0 ||
                array_push(edges, &edge, sizeof edge) < 0)
                return -1;
            ((Node *)nodes->items)[state].edges = (int)edges->length - 1;
            ((Node *)nodes->items)[state].n_edges++;
            next = edge.next;
        }
        state = next;
    }
    Node *end = &((Node *)nodes->items)[state];
    if (end->literal >= 0) {
        PyErr_Format(PyExc_ValueError, "literal %R is given twice", text);
        return -1;
    }
    end->literal = index;
    return 0;
}

/* Fail links, breadth first: a node's is found from its parent's (Aho and Corasick). */
static int link_failures(Node *nodes, TrieEdge *edges, int n_nodes) {
    int *queue = PyMem_Malloc(n_nodes * sizeof(int));
    if (queue == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    int head = 0, tail = 0;
    queue[tail++] = 0;
    while (head < tail) {
        int parent = queue[head++];
        for (int e = nodes[parent].edges; e >= 0; e = edges[e].sibling) {
            int node = edges[e].next, fail = 0;
            queue[tail++] = node;
            for (int f = nodes[parent].fail; parent != 0; f = nodes[f].fail) {
                int next = trie_child(nodes, edges, f, edges[e].ch);
                if (next >= 0) {
                    fail = next;
                    break;
                }
                if (f == 0)
                    break;
            }
            nodes[node].fail = fail;
            nodes[node].output = nodes[node].literal >= 0 ? node : nodes[fail].output;
        }
    }
    PyMem_Free(queue);
    return 0;
}

static int compare_edges(const void *a, const void *b) {
    Py_UCS4 x = ((const Edge *)a)->ch, y = ((const Edge *)b)->ch;
    return (x > y) - (x < y);
}

/* Each node's children into one array, sorted for binary search. */
static int flatten_edges(Core *self, TrieEdge *edges, Py_ssize_t n_edges) {
    self->edges = PyMem_Malloc((n_edges ? n_edges : 1) * sizeof(Edge));
    if (self->edges == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    int position = 0;
    for (int n = 0; n < self->n_nodes; n++) {
        Node *node = &self->nodes[n];
        int start = position;
        for (int e = node->edges; e >= 0; e = edges[e].sibling)
            self->edges[position++] = (Edge){edges[e].ch, edges[e].next};
        qsort(&self->edges[start], node->n_edges, sizeof(Edge), compare_edges);
        node->edges = start;
    }
    for (int c = 0; c < 128; c++)
        self->root_ascii[c] = -1;
    for (int e = 0; e < self->nodes[0].n_edges; e++)
        if (self->edges[e].ch < 128)
            self->root_ascii[self->edges[e].ch] = self->edges[e].next;
    return 0;
}

/* The automaton from [(literal, ((left bounded, right bounded, group id), ...)), ...]. */
static int load_literals(Core *self, PyObject *literals) {
    Py_ssize_t n = PyList_Size(literals);
    if (n < 0)
        return -1;
    self->n_literals = (int)n;
    self->literals = PyMem_Calloc(n ? n : 1, sizeof(Literal));
    if (self->literals == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    if (n == 0)
        return 0;
    Array nodes = {0}, edges = {0};
    Node root = {0, -1, 0, -1, -1};
    int failed = array_push(&nodes, &root, sizeof root);
    for (Py_ssize_t i = 0; i < n && !failed; i++)
        failed = load_literal(self, &nodes, &edges, (int)i, PyList_GET_ITEM(literals, i));
    if (!failed)
        failed = link_failures(nodes.items, edges.items, (int)nodes.length);
    self->nodes = nodes.items;
    self->n_nodes = (int)nodes.length;
    if (!failed)
        failed = flatten_edges(self, edges.items, edges.length);
    array_free(&edges);
    return failed ? -1 : 0;
}

static int load_groups(Core *self, PyObject *group_pairs, PyObject *group_rules) {
    Py_ssize_t n = PyList_Size(group_pairs);
    if (n < 0 || PyList_Size(group_rules) != n) {
        PyErr_SetString(PyExc_ValueError, "group tables must be lists of the same length");
        return -1;
    }
    self->n_groups = (int)n;
    self->group_pairs = PyMem_Calloc(n ? n : 1, sizeof(Pair *));
    self->group_n_pairs = PyMem_Calloc(n ? n : 1, sizeof(int));
    self->group_rules = PyMem_Calloc(n ? n : 1, sizeof(int *));
    self->group_n_rules = PyMem_Calloc(n ? n : 1, sizeof(int));
    if (!self->group_pairs || !self->group_n_pairs || !self->group_rules || !self->group_n_rules) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t g = 0; g < n; g++) {
        int *flat, count;
        if (int_list(PyList_GET_ITEM(group_pairs, g), &flat, &count) < 0)
            return -1;
        self->group_pairs[g] = (Pair *)flat; /* (slot, target) pairs, flattened */
        self->group_n_pairs[g] = count / 2;
        if (int_list(PyList_GET_ITEM(group_rules, g), &self->group_rules[g],
                     &self->group_n_rules[g]) < 0)
            return -1;
    }
    return 0;
}

static int level_of(Core *self, PyObject *name) {
    for (int i = 0; i < N_LEVELS; i++) {
        int equal = PyObject_RichCompareBool(name, self->level_names[i], Py_EQ);
        if (equal != 0)
            return equal < 0 ? -1 : i;
    }
    PyErr_Format(PyExc_ValueError, "unknown priority %R", name);
    return -1;
}

static int load_rule(Core *self, Rule *rule, PyObject *row) {
    PyObject *channels, *match, *require, *unless, *fields;
    int negation;
    Py_ssize_t window;
    if (!PyArg_ParseTuple(row, "OOOOinO!", &channels, &match, &require, &unless, &negation,
                          &window, &PyTuple_Type, &fields))
        return -1;
    if (PyTuple_GET_SIZE(fields) != 6) {
        PyErr_SetString(PyExc_ValueError, "a rule's fields are 6");
        return -1;
    }
    if (channels != Py_None) {
        if (!PyAnySet_Check(channels)) {
            PyErr_SetString(PyExc_TypeError, "a rule's channels are a frozenset or None");
            return -1;
        }
        rule->channels = Py_NewRef(channels);
    }
    if (int_list(match, &rule->match, &rule->n_match) < 0 ||
        int_list(require, &rule->require, &rule->n_require) < 0 ||
        int_list(unless, &rule->unless, &rule->n_unless) < 0)
        return -1;
    rule->negation = negation;
    rule->window = window;
    for (int i = 0; i < 6; i++) {
        rule->fields[i] = PyTuple_GET_ITEM(fields, i);
        Py_INCREF(rule->fields[i]);
    }
    PyObject *levels = rule->fields[2];
    if (!PyTuple_Check(levels) || PyTuple_GET_SIZE(levels) > 8) {
        PyErr_SetString(PyExc_ValueError, "a rule's levels are a tuple of at most 8");
        return -1;
    }
    rule->n_levels = (int)PyTuple_GET_SIZE(levels);
    for (int i = 0; i < rule->n_levels; i++) {
        int level = level_of(self, PyTuple_GET_ITEM(levels, i));
        if (level < 0)
            return -1;
        rule->level_index[i] = level;
    }
    rule->weight = PyFloat_AsDouble(rule->fields[3]);
    return (rule->weight == -1.0 && PyErr_Occurred()) ? -1 : 0;
}

static int load_rules(Core *self, PyObject *rules) {
    Py_ssize_t n = PyList_Size(rules);
    if (n < 0)
        return -1;
    self->n_rules = (int)n;
    self->rules = PyMem_Calloc(n ? n : 1, sizeof(Rule));
    if (self->rules == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        if (load_rule(self, &self->rules[i], PyList_GET_ITEM(rules, i)) < 0)
            return -1;
    return 0;
}

static int load_targets(Core *self, PyObject *targets) {
    Py_ssize_t n = PyList_Size(targets);
    if (n < 0)
        return -1;
    self->target_names = PyMem_Calloc(n ? n : 1, sizeof(PyObject *));
    self->target_patterns = PyMem_Calloc(n ? n : 1, sizeof(PyObject *));
    if (!self->target_names || !self->target_patterns) {
        PyErr_NoMemory();
        return -1;
    }
    self->n_targets = (int)n;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *name, *pattern;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(targets, i), "UU", &name, &pattern))
            return -1;
        Py_INCREF(name);
        Py_INCREF(pattern);
        self->target_names[i] = name;
        self->target_patterns[i] = pattern;
    }
    return 0;
}

static int load_scoring(Core *self, PyObject *scoring) {
    PyObject *levels, *default_priority, *default_category, *default_kind, *pages;
    if (!PyArg_ParseTuple(scoring, "O!dOOOO!", &PyTuple_Type, &levels, &self->threshold,
                          &default_priority, &default_category, &default_kind, &PyTuple_Type,
                          &pages))
        return -1;
    self->default_category = Py_NewRef(default_category);
    self->default_kind = Py_NewRef(default_kind);
    if (PyTuple_GET_SIZE(levels) != N_LEVELS || PyTuple_GET_SIZE(pages) != N_LEVELS) {
        PyErr_SetString(PyExc_ValueError, "scoring needs the 4 levels and their paging flags");
        return -1;
    }
    for (int i = 0; i < N_LEVELS; i++) {
        self->level_names[i] = PyTuple_GET_ITEM(levels, i);
        Py_INCREF(self->level_names[i]);
        self->pages[i] = PyObject_IsTrue(PyTuple_GET_ITEM(pages, i));
        if (self->pages[i] < 0)
            return -1;
    }
    self->default_priority = level_of(self, default_priority);
    return self->default_priority < 0 ? -1 : 0;
}

static int in_range(int value, int count) {
    return value >= 0 && value < count;
}

static int index_error(const char *what) {
    PyErr_Format(PyExc_ValueError, "%s is outside the tables", what);
    return -1;
}

/* Every index a table holds points inside the table it indexes: classify reads them as
 * they are, so a wrong one would read or write out of bounds. */
static int check_indexes(Core *self) {
    for (int g = 0; g < self->n_groups; g++) {
        for (int p = 0; p < self->group_n_pairs[g]; p++)
            if (!in_range(self->group_pairs[g][p].slot, self->n_slots) ||
                !in_range(self->group_pairs[g][p].target, self->n_targets))
                return index_error("a group's slot or target");
        for (int r = 0; r < self->group_n_rules[g]; r++)
            if (!in_range(self->group_rules[g][r], self->n_rules))
                return index_error("a group's rule");
    }
    for (int r = 0; r < self->n_rules; r++) {
        Rule *rule = &self->rules[r];
        int *lists[3] = {rule->match, rule->require, rule->unless};
        int counts[3] = {rule->n_match, rule->n_require, rule->n_unless};
        for (int l = 0; l < 3; l++)
            for (int i = 0; i < counts[l]; i++)
                if (!in_range(lists[l][i], self->n_slots))
                    return index_error("a rule's slot");
        if (rule->negation != -1 && !in_range(rule->negation, self->n_slots))
            return index_error("a rule's negation slot");
        if (rule->window < 0) {
            PyErr_SetString(PyExc_ValueError, "a rule's negation window is negative");
            return -1;
        }
    }
    return 0;
}

static int Core_init(Core *self, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"literals", "group_pairs", "group_rules", "slot_count",
                               "regexes", "rules", "targets", "scoring", "types", NULL};
    PyObject *literals, *group_pairs, *group_rules, *rules, *targets, *scoring;
    PyTypeObject *match_type, *fired_type, *triage_type;
    PyObject *regexes;
    int n_slots;
    if (self->init_started) {
        PyErr_SetString(PyExc_RuntimeError, "a Core is initialised once");
        return -1;
    }
    self->init_started = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!O!O!iOO!O!O!(O!O!O!)", keywords,
                                     &PyList_Type, &literals, &PyList_Type, &group_pairs, &PyList_Type,
                                     &group_rules, &n_slots, &regexes, &PyList_Type, &rules,
                                     &PyList_Type, &targets, &PyTuple_Type, &scoring,
                                     &PyType_Type, &match_type, &PyType_Type, &fired_type,
                                     &PyType_Type, &triage_type))
        return -1;
    PyTypeObject *types[3] = {match_type, fired_type, triage_type};
    for (int i = 0; i < 3; i++)
        if (!PyType_IsSubtype(types[i], &PyTuple_Type) || types[i]->tp_itemsize == 0) {
            PyErr_SetString(PyExc_TypeError, "the record types must be tuple subclasses");
            return -1;
        }
    if (n_slots < 0) {
        PyErr_SetString(PyExc_ValueError, "slot_count must not be negative");
        return -1;
    }
    self->match_type = (PyTypeObject *)Py_NewRef(match_type);
    self->fired_type = (PyTypeObject *)Py_NewRef(fired_type);
    self->triage_type = (PyTypeObject *)Py_NewRef(triage_type);
    if (regexes != Py_None) {
        PyObject *matching, *spans;
        if (!PyArg_ParseTuple(regexes, "OO", &matching, &spans))
            return -1;
        self->regex_matching = Py_NewRef(matching);
        self->regex_spans = Py_NewRef(spans);
    }
    self->n_slots = n_slots;
    PyObject *builtins = PyEval_GetBuiltins();
    self->round_function = builtins ? PyDict_GetItemString(builtins, "round") : NULL;
    if (self->round_function == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "builtins.round is missing");
        return -1;
    }
    Py_INCREF(self->round_function);
    if (load_scoring(self, scoring) < 0 || load_groups(self, group_pairs, group_rules) < 0 ||
        load_targets(self, targets) < 0 || load_rules(self, rules) < 0 ||
        load_literals(self, literals) < 0 || check_indexes(self) < 0)
        return -1;
    self->ready = 1;
    return 0;
}

/* The garbage collector's view: the references through which a cycle could run. */
static int Core_traverse(Core *self, visitproc visit, void *arg) {
    Py_VISIT(self->regex_matching);
    Py_VISIT(self->regex_spans);
    Py_VISIT(self->match_type);
    Py_VISIT(self->fired_type);
    Py_VISIT(self->triage_type);
    Py_VISIT(self->round_function);
    return 0;
}

static int Core_clear(Core *self) {
    self->ready = 0;
    Py_CLEAR(self->regex_matching);
    Py_CLEAR(self->regex_spans);
    return 0;
}

static void Core_dealloc(Core *self) {
    PyObject_GC_UnTrack(self);
    for (int g = 0; g < self->n_groups; g++) {
        if (self->group_pairs)
            PyMem_Free(self->group_pairs[g]);
        if (self->group_rules)
            PyMem_Free(self->group_rules[g]);
    }
    PyMem_Free(self->group_pairs);
    PyMem_Free(self->group_n_pairs);
    PyMem_Free(self->group_rules);
    PyMem_Free(self->group_n_rules);
    for (int i = 0; self->rules && i < self->n_rules; i++) {
        Rule *rule = &self->rules[i];
        Py_XDECREF(rule->channels);
        PyMem_Free(rule->match);
        PyMem_Free(rule->require);
        PyMem_Free(rule->unless);
        for (int f = 0; f < 6; f++)
            Py_XDECREF(rule->fields[f]);
    }
    PyMem_Free(self->rules);
    for (int i = 0; i < self->n_targets; i++) {
        Py_XDECREF(self->target_names[i]);
        Py_XDECREF(self->target_patterns[i]);
    }
    PyMem_Free(self->target_names);
    PyMem_Free(self->target_patterns);
    for (int i = 0; i < N_LEVELS; i++)
        Py_XDECREF(self->level_names[i]);
    Py_XDECREF(self->default_category);
    Py_XDECREF(self->default_kind);
    for (int i = 0; self->literals && i < self->n_literals; i++)
        PyMem_Free(self->literals[i].groups);
    PyMem_Free(self->literals);
    PyMem_Free(self->nodes);
    PyMem_Free(self->edges);
    Py_XDECREF(self->match_type);
    Py_XDECREF(self->fired_type);
    Py_XDECREF(self->triage_type);
    Py_XDECREF(self->round_function);
    Py_XDECREF(self->regex_matching);
    Py_XDECREF(self->regex_spans);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* ------------------------------------------------------------------ one message */

typedef struct {
    PyObject *text;
    int kind;
    const void *data;
    Py_ssize_t length;
    Array hits;         /* Hit: literals in the order they end, then the regexes */
    unsigned char *hit; /* per slot: was it hit (slots_hit's items) */
    Array slots_hit;
    Array candidates;   /* int: rules with a match slot hit */
    Array fired;        /* PyObject*: FiredRule */
    Array fired_rules;  /* Rule*: the row of each FiredRule */
    Array scratch;      /* TargetHit */
    Array negations;    /* TargetHit */
} Message;

static void message_free(Message *message) {
    PyObject **fired = message->fired.items;
    for (Py_ssize_t i = 0; i < message->fired.length; i++)
        Py_DECREF(fired[i]);
    array_free(&message->hits);
    array_free(&message->slots_hit);
    array_free(&message->candidates);
    array_free(&message->fired);
    array_free(&message->fired_rules);
    array_free(&message->scratch);
    array_free(&message->negations);
}

static int add_hit(Core *self, Message *message, Py_ssize_t group, Py_ssize_t start,
                   Py_ssize_t end) {
    if (group < 0 || group >= self->n_groups || start < 0 || end < start ||
        end > message->length) {
        PyErr_SetString(PyExc_ValueError, "a hit outside the tables or the text");
        return -1;
    }
    Hit hit = {group, start, end};
    if (array_push(&message->hits, &hit, sizeof hit) < 0)
        return -1;
    Pair *pairs = self->group_pairs[group];
    for (int i = 0; i < self->group_n_pairs[group]; i++)
        message->hit[pairs[i].slot] = 1;
    int *rules = self->group_rules[group];
    for (int i = 0; i < self->group_n_rules[group]; i++)
        if (array_push(&message->candidates, &rules[i], sizeof(int)) < 0)
            return -1;
    return 0;
}

static inline int child(Core *self, int state, Py_UCS4 c) {
    if (state == 0 && c < 128)
        return self->root_ascii[c];
    Node *node = &self->nodes[state];
    Edge *edges = &self->edges[node->edges];
    if (node->n_edges <= 4) { /* most nodes: a literal's next character, or a few */
        for (int e = 0; e < node->n_edges; e++)
            if (edges[e].ch == c)
                return edges[e].next;
        return -1;
    }
    int low = 0, high = node->n_edges;
    while (low < high) {
        int middle = (low + high) / 2;
        if (edges[middle].ch < c)
            low = middle + 1;
        else
            high = middle;
    }
    return low < node->n_edges && edges[low].ch == c ? edges[low].next : -1;
}

/* A literal ending at `end` (inclusive): a hit for each of its groups whose word
 * boundaries hold (engine._find_group_hits). */
static int add_literal_hit(Core *self, Message *message, Literal *literal, Py_ssize_t end) {
    Py_ssize_t start = end - literal->length + 1;
    int before_ok = start == 0 ||
                    !is_word_char(PyUnicode_READ(message->kind, message->data, start - 1));
    int after_ok = end == message->length - 1 ||
                   !is_word_char(PyUnicode_READ(message->kind, message->data, end + 1));
    for (int i = 0; i < literal->n_groups; i++) {
        int *group = &literal->groups[3 * i];
        if ((group[0] && !before_ok) || (group[1] && !after_ok))
            continue;
        if (add_hit(self, message, group[2], start, end + 1) < 0)
            return -1;
    }
    return 0;
}

/* Every literal in the text, in the order they end; at one end, the longest first. */
#define SCAN_LOOP(TYPE)                                                                    \
    {                                                                                      \
        const TYPE *chars = message->data;                                                 \
        for (Py_ssize_t i = 0; i < message->length; i++) {                                 \
            Py_UCS4 c = chars[i];                                                          \
            int next;                                                                      \
            while ((next = child(self, state, c)) < 0 && state != 0)                       \
                state = nodes[state].fail;                                                 \
            state = next < 0 ? 0 : next;                                                   \
            for (int out = nodes[state].output; out > 0; out = nodes[nodes[out].fail].output) \
                if (add_literal_hit(self, message, &self->literals[nodes[out].literal], i)) \
                    return -1;                                                             \
        }                                                                                  \
    }

static int find_literal_hits(Core *self, Message *message) {
    if (self->n_nodes == 0)
        return 0;
    Node *nodes = self->nodes;
    int state = 0;
    if (message->kind == PyUnicode_1BYTE_KIND)
        SCAN_LOOP(Py_UCS1)
    else if (message->kind == PyUnicode_2BYTE_KIND)
        SCAN_LOOP(Py_UCS2)
    else
        SCAN_LOOP(Py_UCS4)
    return 0;
}

static int add_regex_hits(Core *self, Message *message) {
    if (self->regex_matching == NULL)
        return 0;
    PyObject *encoded = PyUnicode_AsUTF8String(message->text);
    if (encoded == NULL)
        return -1;
    PyObject *indexes = PyObject_CallOneArg(self->regex_matching, encoded);
    int matched = indexes == NULL ? -1 : PyObject_IsTrue(indexes);
    PyObject *regex_hits = NULL;
    if (matched > 0) /* rare: most messages match no regex, and skip the Python part */
        regex_hits = PyObject_CallFunctionObjArgs(self->regex_spans, message->text, encoded,
                                                  indexes, NULL);
    Py_DECREF(encoded);
    Py_XDECREF(indexes);
    if (matched <= 0 || regex_hits == NULL)
        return matched == 0 ? 0 : -1;
    PyObject *fast = PySequence_Fast(regex_hits, "regex hits must be a sequence");
    Py_DECREF(regex_hits);
    if (fast == NULL)
        return -1;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(fast); i++) {
        Py_ssize_t group, start, end;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(fast, i), "nnn", &group, &start, &end) ||
            add_hit(self, message, group, start, end) < 0) {
            Py_DECREF(fast);
            return -1;
        }
    }
    Py_DECREF(fast);
    return 0;
}

/* The hits of one slot, in the order they were found (engine._hits), appended to out. */
static int slot_hits(Core *self, Message *message, int slot, Array *out, int first_only) {
    Hit *hits = message->hits.items;
    for (Py_ssize_t h = 0; h < message->hits.length; h++) {
        Pair *pairs = self->group_pairs[hits[h].group];
        for (int p = 0; p < self->group_n_pairs[hits[h].group]; p++) {
            if (pairs[p].slot != slot)
                continue;
            TargetHit found = {pairs[p].target, hits[h].start, hits[h].end};
            if (array_push(out, &found, sizeof found) < 0)
                return -1;
            if (first_only)
                return 0;
        }
    }
    return 0;
}

/* engine._negated: a negation ends within the window before start, in the same clause. */
static int negated(Message *message, Py_ssize_t start, Array *negations, Py_ssize_t window) {
    TargetHit *items = negations->items;
    for (Py_ssize_t i = 0; i < negations->length; i++) {
        if (start - window > items[i].start || items[i].end > start)
            continue;
        int broken = 0;
        for (Py_ssize_t c = items[i].end; c < start && !broken; c++)
            broken = is_clause_break(PyUnicode_READ(message->kind, message->data, c));
        if (!broken)
            return 1;
    }
    return 0;
}

static PyObject *make_match(Core *self, Message *message, TargetHit *hit) {
    PyObject *items[5];
    items[0] = self->target_names[hit->target];
    items[1] = self->target_patterns[hit->target];
    Py_INCREF(items[0]);
    Py_INCREF(items[1]);
    items[2] = PyUnicode_Substring(message->text, hit->start, hit->end);
    items[3] = PyLong_FromSsize_t(hit->start);
    items[4] = PyLong_FromSsize_t(hit->end);
    if (!items[2] || !items[3] || !items[4]) {
        for (int i = 0; i < 5; i++)
            Py_XDECREF(items[i]);
        return NULL;
    }
    PyObject *match = new_record(self->match_type, items, 5);
    if (match != NULL) /* a str and int record cannot be part of a cycle: spare the GC */
        PyObject_GC_UnTrack(match);
    return match;
}

/* The explanation: the first matches and each requirement's first hit, one per span. */
static PyObject *explain(Core *self, Message *message, Rule *rule, Array *shown) {
    TargetHit *items = shown->items;
    Py_ssize_t unique = 0;
    for (Py_ssize_t i = 0; i < shown->length; i++) {
        int seen = 0;
        for (Py_ssize_t j = 0; j < unique && !seen; j++)
            seen = items[j].start == items[i].start && items[j].end == items[i].end;
        if (!seen)
            items[unique++] = items[i];
    }
    PyObject *matches = PyTuple_New(unique);
    if (matches == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < unique; i++) {
        PyObject *match = make_match(self, message, &items[i]);
        if (match == NULL) {
            Py_DECREF(matches);
            return NULL;
        }
        PyTuple_SET_ITEM(matches, i, match);
    }
    PyObject *fields[7];
    for (int f = 0; f < 6; f++) {
        fields[f] = rule->fields[f];
        Py_INCREF(fields[f]);
    }
    fields[6] = matches;
    PyObject_GC_UnTrack(matches);
    PyObject *fired = new_record(self->fired_type, fields, 7);
    if (fired != NULL) /* immutable, and holds no mutable container: no cycle through it */
        PyObject_GC_UnTrack(fired);
    return fired;
}

/* engine._evaluate: a FiredRule, Py_None when the rule does not fire, NULL on error. */
static PyObject *evaluate(Core *self, Message *message, Rule *rule, PyObject *channel) {
    if (rule->channels != NULL) {
        int inside = PySet_Contains(rule->channels, channel);
        if (inside <= 0)
            return inside < 0 ? NULL : Py_NewRef(Py_None);
    }
    for (int i = 0; i < rule->n_unless; i++)
        if (message->hit[rule->unless[i]])
            return Py_NewRef(Py_None);
    for (int i = 0; i < rule->n_require; i++)
        if (!message->hit[rule->require[i]])
            return Py_NewRef(Py_None);
    Array *matched = &message->scratch;
    matched->length = 0;
    for (int i = 0; i < rule->n_match; i++)
        if (message->hit[rule->match[i]] && slot_hits(self, message, rule->match[i], matched, 0))
            return NULL;
    if (rule->negation >= 0 && message->hit[rule->negation]) {
        message->negations.length = 0;
        if (slot_hits(self, message, rule->negation, &message->negations, 0) < 0)
            return NULL;
        TargetHit *items = matched->items;
        Py_ssize_t kept = 0;
        for (Py_ssize_t i = 0; i < matched->length; i++)
            if (!negated(message, items[i].start, &message->negations, rule->window))
                items[kept++] = items[i];
        matched->length = kept;
        if (kept == 0)
            return Py_NewRef(Py_None);
    }
    if (matched->length > MAX_MATCHES_SHOWN)
        matched->length = MAX_MATCHES_SHOWN;
    for (int i = 0; i < rule->n_require; i++)
        if (slot_hits(self, message, rule->require[i], matched, 1) < 0)
            return NULL;
    return explain(self, message, rule, matched);
}

static int compare_ints(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int evaluate_candidates(Core *self, Message *message, PyObject *channel) {
    int *candidates = message->candidates.items;
    Py_ssize_t n = message->candidates.length;
    if (n > 1)
        qsort(candidates, n, sizeof(int), compare_ints);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (i > 0 && candidates[i] == candidates[i - 1])
            continue;
        if (candidates[i] < 0 || candidates[i] >= self->n_rules) {
            PyErr_SetString(PyExc_ValueError, "a rule index outside the tables");
            return -1;
        }
        PyObject *fired = evaluate(self, message, &self->rules[candidates[i]], channel);
        if (fired == NULL)
            return -1;
        if (fired == Py_None) {
            Py_DECREF(fired);
            continue;
        }
        if (array_push(&message->fired, &fired, sizeof fired) < 0) {
            Py_DECREF(fired);
            return -1;
        }
        Rule *rule = &self->rules[candidates[i]];
        if (array_push(&message->fired_rules, &rule, sizeof rule) < 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ scoring */

static int rounded(Core *self, double value, double *out) {
    /* Python's round(value, 3), correctly rounded: 0.1 + 0.2 must reach 0.3. When
     * value * 1000 comes out a whole number n, value lies within a rounding error of
     * n / 1000, so round() gives the double nearest n / 1000: which IEEE division is. */
    double thousandths = value * 1000.0;
    if (thousandths == floor(thousandths) && fabs(thousandths) < 1e15) {
        *out = thousandths / 1000.0;
        return 0;
    }
    PyObject *result = PyObject_CallFunction(self->round_function, "di", value, 3);
    if (result == NULL)
        return -1;
    *out = PyFloat_AsDouble(result);
    Py_DECREF(result);
    return PyErr_Occurred() ? -1 : 0;
}

static int has_level(Rule *rule, int level) {
    for (int i = 0; i < rule->n_levels; i++)
        if (rule->level_index[i] == level)
            return 1;
    return 0;
}

/* engine._pick: field 4 is the category, 5 the kind. */
static PyObject *pick(Core *self, Message *message, Rule **rules, int priority, int field,
                      PyObject *fallback) {
    Rule *best_for_priority = NULL, *best_any = NULL;
    for (Py_ssize_t i = 0; i < message->fired.length; i++) {
        Rule *rule = rules[i];
        if (rule->fields[field] == Py_None || rule->weight <= 0)
            continue;
        if (has_level(rule, priority) &&
            (best_for_priority == NULL || rule->weight > best_for_priority->weight))
            best_for_priority = rule;
        if (best_any == NULL || rule->weight > best_any->weight)
            best_any = rule;
    }
    Rule *best = best_for_priority ? best_for_priority : best_any;
    PyObject *value = best ? best->fields[field] : fallback;
    int truthy = PyObject_IsTrue(value);
    if (truthy < 0)
        return NULL;
    return Py_NewRef(truthy ? value : fallback);
}

static PyObject *score(Core *self, Message *message, Rule **rules) {
    double scores[N_LEVELS] = {0.0, 0.0, 0.0, 0.0};
    for (Py_ssize_t i = 0; i < message->fired.length; i++)
        for (int l = 0; l < rules[i]->n_levels; l++)
            scores[rules[i]->level_index[l]] += rules[i]->weight;
    int priority = self->default_priority;
    for (int level = N_LEVELS - 1; level >= 0; level--) {
        if (rounded(self, scores[level], &scores[level]) < 0)
            return NULL;
        if (scores[level] >= self->threshold)
            priority = level;
    }
    PyObject *items[7] = {NULL};
    items[0] = Py_NewRef(self->level_names[priority]);
    items[1] = pick(self, message, rules, priority, 4, self->default_category);
    items[2] = pick(self, message, rules, priority, 5, self->default_kind);
    items[3] = PyFloat_FromDouble(scores[priority]);
    items[4] = PyBool_FromLong(self->pages[priority]);
    items[5] = PyDict_New();
    items[6] = PyTuple_New(message->fired.length);
    for (int i = 0; i < 7; i++)
        if (items[i] == NULL)
            goto error;
    for (int level = 0; level < N_LEVELS; level++) {
        PyObject *value = PyFloat_FromDouble(scores[level]);
        if (value == NULL || PyDict_SetItem(items[5], self->level_names[level], value) < 0) {
            Py_XDECREF(value);
            goto error;
        }
        Py_DECREF(value);
    }
    PyObject **fired = message->fired.items;
    for (Py_ssize_t i = 0; i < message->fired.length; i++)
        PyTuple_SET_ITEM(items[6], i, Py_NewRef(fired[i]));
    return new_record(self->triage_type, items, 7);
error:
    for (int i = 0; i < 7; i++)
        Py_XDECREF(items[i]);
    return NULL;
}

static PyObject *Core_classify(Core *self, PyObject *args) {
    PyObject *raw, *channel = Py_None;
    if (!PyArg_ParseTuple(args, "U|O", &raw, &channel))
        return NULL;
    if (!self->ready) {
        PyErr_SetString(PyExc_RuntimeError, "the Core was not initialised");
        return NULL;
    }
    PyObject *text = normalize_text(raw);
    if (text == NULL)
        return NULL;
    /* What one message needs is small: stack buffers, the heap only for outsized ones. */
    Hit hits[64];
    int candidates[64];
    PyObject *fired[32];
    Rule *fired_rules[32];
    TargetHit scratch[64], negations[32];
    unsigned char slots_hit[2048];
    Message message = {
        .text = text,
        .kind = PyUnicode_KIND(text),
        .data = PyUnicode_DATA(text),
        .length = PyUnicode_GET_LENGTH(text),
        .hits = array_on(hits, 64),
        .slots_hit = array_on(slots_hit, sizeof slots_hit),
        .candidates = array_on(candidates, 64),
        .fired = array_on(fired, 32),
        .fired_rules = array_on(fired_rules, 32),
        .scratch = array_on(scratch, 64),
        .negations = array_on(negations, 32),
    };
    PyObject *triage = NULL;
    if (self->n_slots > message.slots_hit.capacity) {
        message.slots_hit = array_on(NULL, 0);
        message.slots_hit.items = PyMem_Malloc(self->n_slots);
        if (message.slots_hit.items == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        message.slots_hit.on_heap = 1;
    }
    message.hit = message.slots_hit.items;
    memset(message.hit, 0, self->n_slots);
    if (find_literal_hits(self, &message) < 0 || add_regex_hits(self, &message) < 0)
        goto done;
    if (message.hits.length && evaluate_candidates(self, &message, channel) < 0)
        goto done;
    triage = score(self, &message, message.fired_rules.items);
done:
    message_free(&message);
    Py_DECREF(text);
    return triage;
}

static PyMethodDef Core_methods[] = {
    {"classify", (PyCFunction)Core_classify, METH_VARARGS,
     "classify(text, channel=None) -> Triage, as Engine.classify_reference(normalize(text))"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject CoreType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "rules._fastpath.Core",
    .tp_doc = PyDoc_STR("A compiled rulebook's tables, classifying normalized text in C."),
    .tp_basicsize = sizeof(Core),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)Core_traverse,
    .tp_clear = (inquiry)Core_clear,
    .tp_free = PyObject_GC_Del,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Core_init,
    .tp_dealloc = (destructor)Core_dealloc,
    .tp_methods = Core_methods,
};

static PyMethodDef module_methods[] = {
    {"normalize", normalize, METH_O, "normalize(text) -> text, as rules.normalize"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef fastpath_module = {
    .m_base = PyModuleDef_HEAD_INIT,
    .m_name = "rules._fastpath",
    .m_doc = "The triage engine's per-message work in C (see rules/engine.py).",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__fastpath(void) {
    if (PyType_Ready(&CoreType) < 0)
        return NULL;
    fill_ascii_tidy();
    PyObject *unicodedata = PyImport_ImportModule("unicodedata");
    if (unicodedata == NULL)
        return NULL;
    unicodedata_normalize = PyObject_GetAttrString(unicodedata, "normalize");
    Py_DECREF(unicodedata);
    nfkc = PyUnicode_InternFromString("NFKC");
    casefold_name = PyUnicode_InternFromString("casefold");
    if (unicodedata_normalize == NULL || nfkc == NULL || casefold_name == NULL)
        return NULL;
    PyObject *module = PyModule_Create(&fastpath_module);
    if (module == NULL)
        return NULL;
    if (PyModule_AddObjectRef(module, "Core", (PyObject *)&CoreType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
