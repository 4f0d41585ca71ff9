"""DASTSiam's transformers (spec §7, §9.4): the ST template-fusion encoder and the DA decoder.

Both are post-norm, d 256, 4 heads, FFN 1024 (ReLU), dropout 0.1, no positional encoding, and
work on batch-first tokens (B×N×C, N = H·W in row-major order).
"""
import torch
import torch.nn as nn

D_MODEL = 256
HEADS = 4
FFN = 1024
DROPOUT = 0.1
LAYERS = 4


def to_tokens(features: torch.Tensor) -> torch.Tensor:
    """B×C×H×W -> B×(H·W)×C."""
    return features.flatten(2).transpose(1, 2)


def from_tokens(tokens: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """B×(H·W)×C -> B×C×H×W with the spatial size of `like`."""
    return tokens.transpose(1, 2).reshape(tokens.size(0), -1, *like.shape[2:])


class FusionEncoderLayer(nn.Module):
    """x ← LN(x + Drop(MHA(q=x, k=f_a, v=x))); x ← LN(x + Drop(FFN(x))) (§7, Eq. 2).

    Q and V come from the stream (f_c at the first layer), K from the memory f_a (§9.4).
    """

    def __init__(self, d_model=D_MODEL, heads=HEADS, ffn=FFN, dropout=DROPOUT):
        super().__init__()
        self.attention = nn.MultiheadAttention(d_model, heads, dropout=dropout, batch_first=True)
        self.linear1 = nn.Linear(d_model, ffn)
        self.linear2 = nn.Linear(ffn, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)     # inside the FFN
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        attended = self.attention(x, memory, x, need_weights=False)[0]
        x = self.norm1(x + self.dropout1(attended))
        ffn = self.linear2(self.dropout(torch.relu(self.linear1(x))))
        return self.norm2(x + self.dropout2(ffn))


class FusionEncoder(nn.Module):
    """The ST encoder: `layers` FusionEncoderLayers, no final norm. 3,159,040 parameters."""

    def __init__(self, layers=LAYERS, heads=HEADS, d_model=D_MODEL, ffn=FFN, dropout=DROPOUT):
        super().__init__()
        self.layers = nn.ModuleList(FusionEncoderLayer(d_model, heads, ffn, dropout)
                                    for _ in range(layers))

    def forward(self, current: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
        """Encode f_c tokens (stream x₀) against f_a tokens (keys of every layer)."""
        x = current
        for layer in self.layers:
            x = layer(x, previous)
        return x


class AugmentationDecoder(nn.Module):
    """The DA decoder: post-norm decoder layers (self-attention on the search tokens,
    cross-attention to the template tokens, FFN), then a final LayerNorm. 4,214,272 parameters.

    Layers are built one by one (not cloned), so each starts from its own random weights.
    """

    def __init__(self, layers=LAYERS, heads=HEADS, d_model=D_MODEL, ffn=FFN, dropout=DROPOUT):
        super().__init__()
        self.layers = nn.ModuleList(
            nn.TransformerDecoderLayer(d_model, heads, ffn, dropout, batch_first=True)
            for _ in range(layers))
        self.norm = nn.LayerNorm(d_model)

    def forward(self, search: torch.Tensor, template: torch.Tensor) -> torch.Tensor:
        x = search
        for layer in self.layers:
            x = layer(x, template)
        return self.norm(x)
