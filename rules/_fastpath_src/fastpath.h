/* The C fast path's shared types: the files of rules/_fastpath_src build rules._fastpath.
 *
 *   fastpath.h   the tables a Core holds, and what one message needs while it is classified
 *   module.c     the Core type (set-up from the tables, teardown) and the module
 *   tables.c     reading and checking the tables rules/engine.py hands over
 *   automaton.c  the Aho-Corasick automaton: built from the literals, scanned over a text
 *   normalize.c  normalization (rules/normalize.py)
 *   classify.c   one message: hits, rule evaluation, explanations, scoring
 */
#ifndef HARK_FASTPATH_H
#define HARK_FASTPATH_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

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

/* ------------------------------------------------------------------ small helpers */

static inline Array array_on(void *buffer, Py_ssize_t capacity) {
    return (Array){0, capacity, buffer, 0};
}

static inline void array_free(Array *array) {
    if (array->on_heap)
        PyMem_Free(array->items);
}

static inline int array_push(Array *array, const void *item, size_t size) {
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

static inline int is_word_char(Py_UCS4 c) {
    /* rules.matchers.is_word_char: a letter, digit or "_" of a script that spaces words */
    return (c == '_' || Py_UNICODE_ISALNUM(c)) && c < 0x2E80;
}

static inline int is_clause_break(Py_UCS4 c) {
    /* engine._CLAUSE_BREAK */
    switch (c) {
    case ',': case '.': case ';': case ':': case '!': case '?': case '(': case ')':
    case '\n':
        return 1;
    default:
        return 0;
    }
}


/* normalize.c */
int normalize_init(void);
PyObject *normalize_text(PyObject *text);
PyObject *normalize_function(PyObject *module, PyObject *text);

/* tables.c */
int load_scoring(Core *self, PyObject *scoring);
int load_groups(Core *self, PyObject *group_pairs, PyObject *group_rules);
int load_targets(Core *self, PyObject *targets);
int load_rules(Core *self, PyObject *rules);
int check_indexes(Core *self);

/* automaton.c */
int load_literals(Core *self, PyObject *literals);
int find_literal_hits(Core *self, Message *message);

/* classify.c */
int add_hit(Core *self, Message *message, Py_ssize_t group, Py_ssize_t start, Py_ssize_t end);
PyObject *Core_classify(Core *self, PyObject *args);

#endif
