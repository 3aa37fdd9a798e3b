/* Reading the tables rules/engine.py hands to a Core, and checking every index in them:
 * classify reads them as they are, so a wrong one must be refused here. */
#include <limits.h>

#include "fastpath.h"

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

int load_groups(Core *self, PyObject *group_pairs, PyObject *group_rules) {
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

int load_rules(Core *self, PyObject *rules) {
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

int load_targets(Core *self, PyObject *targets) {
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

int load_scoring(Core *self, PyObject *scoring) {
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
int check_indexes(Core *self) {
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

