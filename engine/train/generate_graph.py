"""magenta's generate-mode graph for an event RNN (events_rnn_graph.build_graph with
mode='generate'), built in TF1 graph mode for the MetaGraphDef of a `.mag` bundle.

magenta's generator imports the bundle's metagraph, restores the checkpoint into it and
then only talks to the graph through these collections:

    inputs         float32 placeholder [1, None, input_size]
    temperature    float32 placeholder []
    softmax        [1, T, num_classes] = softmax(logits / temperature)
    initial_state  the flattened cell state, zeros (fed back with the previous final_state)
    final_state    the flattened state after the last input

The state is flattened as nest.flatten does for MultiRNNCell([AttentionCellWrapper(LSTM),
LSTM, ...]): c0, h0, attns, attn_states [1, attn_length * units], c1, h1, ...
Variables carry the checkpoint's names (engine.train.event_rnn), so the bundle's Saver
restores them by name.
"""

from __future__ import annotations

from engine.train.event_rnn import CELL, WRAP

BATCH = 1  # magenta's generator reads the batch size from the inputs placeholder


def build_generate_graph(shape, values: dict) -> dict:
    """Build the graph in the current default graph; returns {checkpoint name: Variable}."""
    import tensorflow as tf

    v1 = tf.compat.v1
    # zeros as initial values (the checkpoint holds the weights; constants in the graph
    # would double the bundle's size)
    var = {n: v1.Variable(tf.zeros(val.shape), name=n) for n, val in values.items()}
    layers, attn_len = shape.layers, shape.attn_length
    u0 = layers[0]
    inputs = v1.placeholder(tf.float32, [BATCH, None, shape.input_size], name="inputs")
    temperature = v1.placeholder(tf.float32, [], name="temperature")
    initial = []
    for k, u in enumerate(layers):
        initial += [tf.zeros([BATCH, u]), tf.zeros([BATCH, u])]
        if k == 0 and attn_len:
            initial += [tf.zeros([BATCH, u0]), tf.zeros([BATCH, attn_len * u0])]

    def lstm(k, x, c, h):
        from engine.models.lstm import lstm_step

        prefix = (WRAP if k == 0 and attn_len else CELL.format(k)) + "basic_lstm_cell/"
        return lstm_step(x, c, h, var[prefix + "kernel"], var[prefix + "bias"])

    def cell(x, flat):
        """One step: x [1, in], flat state list -> (output [1, units], new flat state)."""
        new, i = [], 0
        for k in range(len(layers)):
            c, h = flat[i], flat[i + 1]
            i += 2
            if k == 0 and attn_len:
                attns, states = flat[i], flat[i + 1]
                i += 2
                hist = tf.reshape(states, [-1, attn_len, u0])
                x = tf.matmul(tf.concat([x, attns], -1), var[WRAP + "kernel"]) + var[WRAP + "bias"]
                c, h = lstm(0, x, c, h)
                features = tf.einsum("bla,av->blv", hist,
                                     tf.reshape(var[WRAP + "attention/attn_w"], [u0, u0]))
                y = tf.matmul(tf.concat([c, h], -1), var[WRAP + "attention/kernel"]) \
                    + var[WRAP + "attention/bias"]
                score = tf.reduce_sum(var[WRAP + "attention/attn_v"]
                                      * tf.tanh(features + y[:, None, :]), -1)
                a = tf.nn.softmax(score, -1)
                attns = tf.reduce_sum(a[:, :, None] * hist, 1)
                out = tf.matmul(tf.concat([h, attns], -1),
                                var[WRAP + "attn_output_projection/kernel"]) \
                    + var[WRAP + "attn_output_projection/bias"]
                hist = tf.concat([hist[:, 1:], out[:, None, :]], 1)
                new += [c, h, attns, tf.reshape(hist, [-1, attn_len * u0])]
                x = out
            else:
                c, h = lstm(k, x, c, h)
                new += [c, h]
                x = h
        return x, new

    steps = tf.shape(inputs)[1]
    xs = tf.transpose(inputs, [1, 0, 2])
    outs = tf.TensorArray(tf.float32, size=steps)

    def body(t, flat, outs):
        y, flat = cell(xs[t], list(flat))
        return t + 1, flat, outs.write(t, y)

    _, final, outs = tf.while_loop(lambda t, *_: t < steps, body, (0, initial, outs))
    final = [tf.identity(s) for s in final]  # static shapes for the collection
    for s, s0 in zip(final, initial):
        s.set_shape(s0.shape)
    outputs_flat = tf.reshape(tf.transpose(outs.stack(), [1, 0, 2]), [-1, layers[-1]])
    logits_flat = tf.matmul(outputs_flat, var["fully_connected/weights"]) \
        + var["fully_connected/biases"]
    softmax_flat = tf.nn.softmax(logits_flat / tf.fill([shape.num_classes], temperature))
    softmax = tf.reshape(softmax_flat, [BATCH, -1, shape.num_classes])
    v1.add_to_collection("inputs", inputs)
    v1.add_to_collection("temperature", temperature)
    v1.add_to_collection("softmax", softmax)
    for s in initial:
        v1.add_to_collection("initial_state", s)
    for s in final:
        v1.add_to_collection("final_state", s)
    return var
