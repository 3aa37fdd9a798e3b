/* The Aho-Corasick automaton over every literal of the rulebook: built once from the
 * literals (a trie, then fail links breadth first, then each node's children sorted in
 * one array), then run over each normalized text. */
#include "fastpath.h"

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
int load_literals(Core *self, PyObject *literals) {
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

int find_literal_hits(Core *self, Message *message) {
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

