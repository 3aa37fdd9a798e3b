/* rules._fastpath: the engine's per-message work in C (this folder's files: fastpath.h).
 *
 * rules/engine.py compiles a rulebook into flat tables (pattern groups, condition slots,
 * rules) and keeps, in Python, the reference implementation of what classifying a message
 * means (Engine.classify_reference and rules.normalize.normalize_reference). This module
 * does the same work on the same tables without the interpreter's per-step cost: it
 * normalizes the text, runs the Aho-Corasick automaton with its word-boundary checks,
 * evaluates the rules that were hit, builds their explanations and scores them. tests/unit/test_fastpath.py checks that the
 * two give identical results, field for field, on the corpora and on generated text.
 *
 * Nothing here is shared between calls except the read-only tables, so a Core may be used
 * from several threads.
 */
#include "fastpath.h"

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
                                     &PyList_Type, &literals, &PyList_Type, &group_pairs,
                                     &PyList_Type, &group_rules, &n_slots, &regexes,
                                     &PyList_Type, &rules,
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
    {"normalize", normalize_function, METH_O, "normalize(text) -> text, as rules.normalize"},
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
    if (normalize_init() < 0)
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

