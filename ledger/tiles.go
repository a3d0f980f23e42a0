package ledger

import (
	"context"
	"fmt"
	"strings"

	hashtrail "github.com/hashtrail/hashtrail"
	"golang.org/x/mod/sumdb/tlog"
)

// TileHeight is the height of the hash tiles served (C2SP tlog-tiles): a
// tile holds up to 2^8 = 256 hashes.
const TileHeight = 8

// ParseTilePath reads the path of a C2SP tlog-tiles hash tile below
// "tile/": "<L>/<N>[.p/<W>]", where the tile index N is written in groups of
// three digits, each but the last prefixed with "x" (for example
// "0/x001/234.p/5"). Entry bundles ("entries/...") are not hash tiles.
func ParseTilePath(path string) (tlog.Tile, error) {
	if strings.HasPrefix(path, "entries/") || path == "entries" {
		return tlog.Tile{}, hashtrail.Errorf(hashtrail.ENOTFOUND, "entry bundles are not served: events exceed their 64 KiB entry limit; read events through the events API")
	}
	t, err := tlog.ParseTilePath(fmt.Sprintf("tile/%d/%s", TileHeight, path))
	if err != nil || t.L < 0 {
		return tlog.Tile{}, &hashtrail.Error{Code: hashtrail.EINVALID, Message: "not a tile path",
			Fields: []hashtrail.FieldError{{Field: "path", Message: "must be <level>/<index>[.p/<width>], the index in groups of three digits with all but the last prefixed by x, such as 0/x001/234.p/5"}}}
	}
	return t, nil
}

// Tile returns a C2SP tlog-tiles hash tile of a tenant's log by its path
// below tile/ (see ParseTilePath): the concatenated hashes of W (256 for a
// full tile) consecutive subtrees at level 8·L. Only tiles within the latest
// checkpoint's tree are served; others are ENOTFOUND.
func (l *Ledger) Tile(ctx context.Context, tenant, path string) ([]byte, error) {
	t, err := ParseTilePath(path)
	if err != nil {
		return nil, err
	}
	ls, cp, err := l.readLatest(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if !tileWithin(t, cp.Size) {
		return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "tile %s is not in the tree of the latest checkpoint (size %d)", path, cp.Size)
	}
	data, err := tlog.ReadTileData(t, hashReader(ctx, ls, tenant))
	if err != nil {
		return nil, fmt.Errorf("ledger: reading tile %s of %s: %w", path, tenant, err)
	}
	return data, nil
}

// tileWithin reports whether every hash of t belongs to the tree of size n:
// the W subtrees at level H·L that t holds, from index N·2^H on, must be
// complete in it.
func tileWithin(t tlog.Tile, n int64) bool {
	level := t.H * t.L
	if level >= 63 {
		return false
	}
	complete := n >> uint(level) // complete subtrees at that level
	perTile := int64(1) << uint(t.H)
	if t.N > complete/perTile {
		return false
	}
	return t.N*perTile+int64(t.W) <= complete
}
