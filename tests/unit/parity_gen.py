#!/usr/bin/python3
"""Writes tests/unit/parity_ref.h: PyTorch's outputs and gradients for the
nets of test_parity.c, on the same weights and inputs (both sides build
them from the same formulas, in trainyard's layout; this script converts
to PyTorch's). Run it again when a case changes:

    python3 tests/unit/parity_gen.py > tests/unit/parity_ref.h

Needs torch (Debian's python3-torch, installed by scripts/install-deps.sh
bench); the test itself does not.
"""
import math
import sys

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)  # the reference in double


def pval(j):
    return 0.3 * math.sin(0.7 * j + 1.1)


def xval(j):
    return math.sin(0.37 * j)


class Params:
    """Hands out trainyard's parameter array in layer order."""

    def __init__(self):
        self.j = 0

    def take(self, n):
        v = [pval(self.j + i) for i in range(n)]
        self.j += n
        return v

    def state(self, c):
        """BN state: the test writes running mean/var by formula."""
        self.j += 2 * c
        rm = [0.1 * math.cos(i) for i in range(c)]
        rv = [1.0 + 0.5 * math.sin(i) ** 2 for i in range(c)]
        return torch.tensor(rm), torch.tensor(rv)


def conv(P, ic, oc, k):
    w = torch.tensor(P.take(k * k * ic * oc)).reshape(k, k, ic, oc)
    b = torch.tensor(P.take(oc))
    return w.permute(3, 2, 0, 1).contiguous().requires_grad_(), b.requires_grad_()


def conv_grad(w):  # back to trainyard's [ky][kx][ic][oc]
    return w.grad.permute(2, 3, 1, 0).reshape(-1).tolist()


def dense(P, i, o):
    w = torch.tensor(P.take(i * o)).reshape(i, o)
    b = torch.tensor(P.take(o))
    return w.t().contiguous().requires_grad_(), b.requires_grad_()


def dense_grad(w):
    return w.grad.t().reshape(-1).tolist()


def bn(P, c):
    g = torch.tensor(P.take(c)).requires_grad_()
    be = torch.tensor(P.take(c)).requires_grad_()
    rm, rv = P.state(c)
    return g, be, rm, rv


UPDATED = []  # running stats after each training forward, in order


def bn_apply(x, b, train):
    g, be, rm, rv = b
    # a copy of the running stats: PyTorch updates them in place
    m, v = rm.clone(), rv.clone()
    y = F.batch_norm(x, m, v, g, be, training=train, momentum=0.1, eps=1e-5)
    if train:
        UPDATED.extend(m.tolist() + v.tolist())
    return y


def lstm(P, f, h):
    wx = torch.tensor(P.take(f * 4 * h)).reshape(f, 4 * h)
    wh = torch.tensor(P.take(h * 4 * h)).reshape(h, 4 * h)
    b = torch.tensor(P.take(4 * h))
    m = torch.nn.LSTM(f, h, batch_first=True)
    with torch.no_grad():
        m.weight_ih_l0.copy_(wx.t())
        m.weight_hh_l0.copy_(wh.t())
        m.bias_ih_l0.copy_(b)
        m.bias_hh_l0.zero_()
    return m


def lstm_grads(m):
    return (m.weight_ih_l0.grad.t().reshape(-1).tolist() +
            m.weight_hh_l0.grad.t().reshape(-1).tolist() +
            (m.bias_ih_l0.grad).tolist())


def inputs(n, h, w, c):
    x = torch.tensor([xval(j) for j in range(n * h * w * c)])
    return x.reshape(n, h, w, c)


K, N, EPS = 3, 4, 0.1
CW = [0.5, 1.0, 2.0]


def loss_of(logits, labels):
    """trainyard's: mean over samples of w_y * smoothed cross-entropy."""
    l = F.cross_entropy(logits, labels, label_smoothing=EPS, reduction="none")
    return (l * torch.tensor(CW)[labels]).mean()


def case_resnet():
    """conv-bn-relu, a stride-2 block with a 1x1 projection, GAP, dense
    (test_parity.c's resnet_specs)."""
    P = Params()
    c0 = conv(P, 2, 3, 3)
    b0 = bn(P, 3)
    c1 = conv(P, 3, 4, 3)
    b1 = bn(P, 4)
    c2 = conv(P, 3, 4, 1)
    b2 = bn(P, 4)
    d = dense(P, 4, K)

    def fwd(x, train):
        a = F.relu(bn_apply(F.conv2d(x, *c0, padding=1), b0, train))
        br = bn_apply(F.conv2d(a, *c1, stride=2, padding=1), b1, train)
        sc = bn_apply(F.conv2d(a, *c2, stride=2), b2, train)
        y = F.relu(br + sc).mean(dim=(2, 3))
        return F.linear(y, *d)

    x = inputs(N, 6, 6, 2).permute(0, 3, 1, 2).contiguous()
    labels = torch.tensor([i % K for i in range(N)])
    logits = fwd(x, True)
    loss = loss_of(logits, labels)
    loss.backward()
    grads = []
    for (w, b), bb in ((c0, b0), (c1, b1), (c2, b2)):
        grads += conv_grad(w) + b.grad.tolist()
        grads += bb[0].grad.tolist() + bb[1].grad.tolist() + [0.0] * (2 * len(bb[0]))
    grads += dense_grad(d[0]) + d[1].grad.tolist()
    with torch.no_grad():
        ev = fwd(x, False)
    return logits, loss, grads, ev


def case_lstm():
    """two LSTM layers (the first gives every step) and dense."""
    P = Params()
    l1 = lstm(P, 3 * 2, 5)
    l2 = lstm(P, 5, 4)
    d = dense(P, 4, K)
    x = inputs(N, 4, 3, 2).reshape(N, 4, 6)
    labels = torch.tensor([i % K for i in range(N)])
    s, _ = l1(x)
    _, (h, _) = l2(s)
    logits = F.linear(h[0], *d)
    loss = loss_of(logits, labels)
    loss.backward()
    grads = lstm_grads(l1) + lstm_grads(l2) + dense_grad(d[0]) + d[1].grad.tolist()
    return logits, loss, grads, logits.detach()


def case_adamw():
    """three torch.optim.AdamW steps on a dense layer 3 -> 2 (decay on the
    weights, none on the biases), gradients by formula; lr 0.01 wd 0.1."""
    P = Params()
    w, b = dense(P, 3, 2)
    opt = torch.optim.AdamW([{"params": [w], "weight_decay": 0.1},
                             {"params": [b], "weight_decay": 0.0}],
                            lr=0.01, betas=(0.9, 0.999), eps=1e-8)
    for step in range(3):
        g = [math.cos(0.5 * j + step) for j in range(8)]
        w.grad = torch.tensor(g[:6]).reshape(3, 2).t().contiguous()
        b.grad = torch.tensor(g[6:])
        opt.step()
    return w.detach().t().reshape(-1).tolist() + b.detach().tolist()


def arr(name, v):
    v = [float(t) for t in (v.reshape(-1).tolist() if torch.is_tensor(v) else v)]
    body = ",\n".join("    %.12g" % t for t in v)
    return "static const double %s[%d] = {\n%s};\n" % (name, len(v), body)


def main():
    out = ["/* Generated by tests/unit/parity_gen.py with torch %s; do not edit. */\n"
           % torch.__version__]
    for name, fn in (("resnet", case_resnet), ("lstm", case_lstm)):
        del UPDATED[:]
        logits, loss, grads, ev = fn()
        if UPDATED:
            out.append(arr("%s_state" % name, UPDATED))
        out.append(arr("%s_logits" % name, logits.detach()))
        out.append("static const double %s_loss = %.12g;\n" % (name, loss.item()))
        out.append(arr("%s_grads" % name, grads))
        out.append(arr("%s_eval" % name, ev))
    out.append(arr("adamw_params", case_adamw()))
    sys.stdout.write("".join(out))


main()
