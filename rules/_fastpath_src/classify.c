/* One message: its hits (literals, then regexes), the evaluation of the rules they
 * concern, the explanations of those that fire, and the score: Engine.classify_reference. */
#include <math.h>

#include "fastpath.h"

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

int add_hit(Core *self, Message *message, Py_ssize_t group, Py_ssize_t start, Py_ssize_t end) {
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

PyObject *Core_classify(Core *self, PyObject *args) {
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

