// Package table is the console's table: columns that drop out by priority on
// narrow terminals, sort by any column, a live filter, and rendering of the
// visible rows only, so 10,000 rows cost what 20 do.
package table

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/wotr/wotr-tui/ops/present"
	"github.com/wotr/wotr-tui/ui/common"
)

// Column of a table.
type Column struct {
	Title string
	Width int  // minimum width (cells)
	Flex  bool // takes a share of the spare width
	Right bool // right-aligned (numbers)
	// Priority 0 is always shown; higher numbers are dropped first when the
	// terminal is narrow.
	Priority int
	Numeric  bool // sort by Row.Nums instead of the text
	Status   bool // coloured by Row.Level
	Muted    bool
	// Ident marks a name column: it gets its width before value columns,
	// and a name too long is cut in the middle, keeping its distinct end.
	Ident bool
}

// identWant is how wide an identifier column asks to be before optional
// columns are dropped; a pod name (deployment, hash, suffix) fits.
const identWant = 24

// Row of a table. Nums holds the sort values of numeric columns.
type Row struct {
	Key   string
	Cells []string
	Nums  []float64
	Level common.Level
	// Cell renders a cell lazily (sparklines): called only for visible rows.
	Cell func(col, width int) string
}

// Model is a table component.
type Model struct {
	ctx     *common.Context
	cols    []Column
	rows    []Row
	lower   []string // lowercased joined cells, for the filter
	order   []int    // indexes into rows, sorted
	view    []int    // order after the filter
	filter  string
	sortCol int
	desc    bool
	cursor  int
	offset  int
	width   int
	height  int
	focused bool
	shown   []int // visible column indexes after the width layout
	widths  []int
	natural []int  // longest cell of each identifier column
	Empty   string // shown when there are no rows
}

// New table with columns; sortCol < 0 keeps the given order.
func New(ctx *common.Context, cols []Column, sortCol int, desc bool) *Model {
	return &Model{ctx: ctx, cols: cols, sortCol: sortCol, desc: desc, focused: true, Empty: "no rows"}
}

// SetRows replaces the rows, keeping the selection on the same key.
func (m *Model) SetRows(rows []Row) {
	sel := m.SelectedKey()
	m.rows = rows
	m.lower = m.lower[:0]
	for _, r := range rows {
		m.lower = append(m.lower, strings.ToLower(strings.Join(r.Cells, "\x00")))
	}
	m.measure()
	m.resort()
	m.layout()
	if sel != "" {
		for i, ri := range m.view {
			if m.rows[ri].Key == sel {
				m.cursor = i
				break
			}
		}
	}
	m.clamp()
}

// SetFilter keeps rows whose text contains q (case-insensitive).
func (m *Model) SetFilter(q string) {
	q = strings.ToLower(q)
	if q == m.filter {
		return
	}
	m.filter = q
	m.rebuild()
	m.cursor, m.offset = 0, 0
}

// Filter is the active filter.
func (m *Model) Filter() string { return m.filter }

// resort orders every row by the sort column (stable: equal rows keep their
// given order); filtering then keeps that order without sorting again.
func (m *Model) resort() {
	m.order = m.order[:0]
	for i := range m.rows {
		m.order = append(m.order, i)
	}
	if m.sortCol >= 0 && m.sortCol < len(m.cols) {
		c, numeric := m.sortCol, m.cols[m.sortCol].Numeric
		slices.SortStableFunc(m.order, func(a, b int) int {
			var r int
			if numeric {
				r = cmpNum(num(m.rows[a], c), num(m.rows[b], c))
			} else {
				r = strings.Compare(cell(m.rows[a], c), cell(m.rows[b], c))
			}
			if m.desc {
				r = -r
			}
			return r
		})
	}
	m.rebuild()
}

// rebuild applies the filter to the sorted rows.
func (m *Model) rebuild() {
	m.view = m.view[:0]
	for _, i := range m.order {
		if m.filter == "" || strings.Contains(m.lower[i], m.filter) {
			m.view = append(m.view, i)
		}
	}
}

func cmpNum(a, b float64) int {
	if math.IsNaN(a) {
		a = math.Inf(-1)
	}
	if math.IsNaN(b) {
		b = math.Inf(-1)
	}
	return cmp.Compare(a, b)
}

func num(r Row, c int) float64 {
	if c < len(r.Nums) {
		return r.Nums[c]
	}
	return math.NaN()
}

func cell(r Row, c int) string {
	if c < len(r.Cells) {
		return r.Cells[c]
	}
	return ""
}

// Len is the number of rows after the filter; Total before it.
func (m *Model) Len() int   { return len(m.view) }
func (m *Model) Total() int { return len(m.rows) }

// Selected row, if any.
func (m *Model) Selected() (Row, bool) {
	if m.cursor < 0 || m.cursor >= len(m.view) {
		return Row{}, false
	}
	return m.rows[m.view[m.cursor]], true
}

// SelectedKey of the selected row, "" when none.
func (m *Model) SelectedKey() string {
	r, ok := m.Selected()
	if !ok {
		return ""
	}
	return r.Key
}

// Select moves the cursor to the row with key; false when it is not shown.
func (m *Model) Select(key string) bool {
	for i, ri := range m.view {
		if m.rows[ri].Key == key {
			m.cursor = i
			m.clamp()
			return true
		}
	}
	return false
}

// Cursor position in the filtered rows.
func (m *Model) Cursor() int { return m.cursor }

// Offset is the first row drawn.
func (m *Model) Offset() int { return m.offset }

// SetFocused changes whether the selection is highlighted.
func (m *Model) SetFocused(f bool) { m.focused = f }

// SortInfo names the sort column and direction for the panel title.
func (m *Model) SortInfo() string {
	if m.sortCol < 0 || m.sortCol >= len(m.cols) {
		return ""
	}
	arrow := "↑"
	if m.desc {
		arrow = "↓"
	}
	return m.cols[m.sortCol].Title + arrow
}

// SortBy sets the sort column.
func (m *Model) SortBy(col int, desc bool) {
	m.sortCol, m.desc = col, desc
	m.resort()
	m.clamp()
}

// SetSize of the table including its header line.
func (m *Model) SetSize(w, h int) {
	m.width, m.height = w, h
	m.layout()
	m.clamp()
}

func (m *Model) bodyHeight() int { return max(m.height-1, 0) }

func (m *Model) clamp() {
	n := len(m.view)
	if m.cursor >= n {
		m.cursor = n - 1
	}
	if m.cursor < 0 {
		m.cursor = 0
	}
	h := m.bodyHeight()
	if m.cursor < m.offset {
		m.offset = m.cursor
	}
	if h > 0 && m.cursor >= m.offset+h {
		m.offset = m.cursor - h + 1
	}
	if m.offset > max(n-h, 0) {
		m.offset = max(n-h, 0)
	}
}

// measure the longest cell of every identifier column (title and sort
// arrow included).
func (m *Model) measure() {
	m.natural = make([]int, len(m.cols))
	for i, c := range m.cols {
		if !c.Ident {
			continue
		}
		n := common.Width(c.Title) + 1
		for _, r := range m.rows {
			n = max(n, common.Width(cell(r, i)))
		}
		m.natural[i] = n
	}
}

func (m *Model) want(i int) int {
	w := m.cols[i].Width
	if m.cols[i].Ident && i < len(m.natural) {
		w = max(w, min(m.natural[i], identWant))
	}
	return w
}

// layout chooses the visible columns and their widths: one marker cell, one
// space between columns. Identifier columns ask for room first (optional
// columns drop out for it) and take spare width up to their longest name;
// other flex columns share what is left.
func (m *Model) layout() {
	idx := make([]int, 0, len(m.cols))
	for i := range m.cols {
		idx = append(idx, i)
	}
	need := func(ix []int) int {
		w := 1
		for _, i := range ix {
			w += m.want(i) + 1
		}
		return w
	}
	for need(idx) > m.width && len(idx) > 1 {
		// drop the highest priority number, rightmost first
		worst := -1
		for j, i := range idx {
			if m.cols[i].Priority > 0 && (worst < 0 || m.cols[i].Priority >= m.cols[idx[worst]].Priority) {
				worst = j
			}
		}
		if worst < 0 {
			break
		}
		idx = slices.Delete(idx, worst, worst+1)
	}
	widths := make([]int, len(idx))
	flex := 0
	for j, i := range idx {
		widths[j] = m.want(i)
		if m.cols[i].Flex && !m.cols[i].Ident {
			flex++
		}
	}
	spare := m.width - need(idx)
	// still too narrow: identifier columns give back down to their minimum
	for j, i := range idx {
		if spare >= 0 {
			break
		}
		give := min(widths[j]-m.cols[i].Width, -spare)
		widths[j] -= give
		spare += give
	}
	for j, i := range idx {
		if m.cols[i].Ident && spare > 0 && i < len(m.natural) {
			take := min(max(m.natural[i]-widths[j], 0), spare)
			widths[j] += take
			spare -= take
		}
	}
	if spare > 0 && flex > 0 {
		per := spare / flex
		extra := spare % flex
		for j, i := range idx {
			if m.cols[i].Flex && !m.cols[i].Ident {
				widths[j] += per
				if extra > 0 {
					widths[j]++
					extra--
				}
			}
		}
	}
	m.shown, m.widths = idx, widths
}

// Update handles navigation and sorting keys.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	if c, ok := msg.(ClickMsg); ok {
		m.click(c.Line)
		m.clamp()
		return nil
	}
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return nil
	}
	k := m.ctx.Keys
	h := max(m.bodyHeight(), 1)
	switch {
	case key.Matches(km, k.Up):
		m.cursor--
	case key.Matches(km, k.Down):
		m.cursor++
	case key.Matches(km, k.PageUp):
		m.cursor -= h
	case key.Matches(km, k.PageDown):
		m.cursor += h
	case key.Matches(km, k.Top):
		m.cursor = 0
	case key.Matches(km, k.Bottom):
		m.cursor = len(m.view) - 1
	case key.Matches(km, k.SortNext), key.Matches(km, common.SortPrev):
		step := 1
		if key.Matches(km, common.SortPrev) {
			step = -1
		}
		// cycle over the visible columns only
		pos := slices.Index(m.shown, m.sortCol)
		pos = (pos + step + len(m.shown)) % max(len(m.shown), 1)
		if len(m.shown) > 0 {
			c := m.shown[pos]
			m.SortBy(c, m.cols[c].Numeric)
		}
	case key.Matches(km, k.SortReverse):
		if m.sortCol >= 0 {
			m.SortBy(m.sortCol, !m.desc)
		}
	}
	m.clamp()
	return nil
}

// View renders the header and the visible rows, exactly height lines.
func (m *Model) View() string {
	if m.height <= 0 || m.width <= 0 {
		return ""
	}
	st := m.ctx.Styles
	var b strings.Builder
	b.Grow((m.width + 16) * m.height)
	// header
	hdr := make([]byte, 0, m.width)
	hdr = append(hdr, ' ')
	for j, i := range m.shown {
		c := m.cols[i]
		t := c.Title
		if i == m.sortCol {
			if m.desc {
				t += "↓"
			} else {
				t += "↑"
			}
		}
		if c.Right {
			hdr = append(hdr, common.FitRight(t, m.widths[j])...)
		} else {
			hdr = append(hdr, common.Fit(t, m.widths[j])...)
		}
		hdr = append(hdr, ' ')
	}
	b.WriteString(st.ColumnHeader.Render(common.Fit(string(hdr), m.width)))
	lines := 1
	h := m.bodyHeight()
	if len(m.view) == 0 && h > 0 {
		b.WriteByte('\n')
		b.WriteString(st.Muted.Render(common.Fit("  "+m.Empty, m.width)))
		lines++
	}
	for r := m.offset; r < len(m.view) && r < m.offset+h; r++ {
		b.WriteByte('\n')
		b.WriteString(m.renderRow(m.rows[m.view[r]], r == m.cursor && m.focused))
		lines++
	}
	for ; lines < m.height; lines++ {
		b.WriteByte('\n')
	}
	return b.String()
}

func (m *Model) renderRow(row Row, selected bool) string {
	st := m.ctx.Styles
	var b strings.Builder
	if selected {
		// plain text inside one selected style, so the highlight is continuous
		b.WriteString(">")
		for j, i := range m.shown {
			b.WriteString(m.cellText(row, i, m.widths[j]))
			b.WriteByte(' ')
		}
		return st.Selected.Render(common.Fit(b.String(), m.width))
	}
	b.WriteByte(' ')
	used := 1
	for j, i := range m.shown {
		c := m.cols[i]
		t := m.cellText(row, i, m.widths[j])
		switch {
		case c.Status && row.Level != common.LevelNone:
			t = st.LevelStyle(row.Level).Render(t)
		case c.Muted:
			t = st.Muted.Render(t)
		}
		b.WriteString(t)
		b.WriteByte(' ')
		used += m.widths[j] + 1
	}
	if used < m.width {
		b.WriteString(strings.Repeat(" ", m.width-used))
	}
	return b.String()
}

func (m *Model) cellText(row Row, i, w int) string {
	var t string
	if row.Cell != nil {
		t = row.Cell(i, w)
	}
	if t == "" {
		t = cell(row, i)
	}
	switch {
	case m.cols[i].Right:
		return common.FitRight(t, w)
	case m.cols[i].Ident:
		return common.FitMiddle(t, w)
	}
	return common.Fit(t, w)
}

// Export is the table as shown: the filtered rows in their sort order, the
// full text of each cell. Columns without a title or without any text
// (sparklines, bars) are left out.
func (m *Model) Export() present.Table {
	var t present.Table
	var cols []int
	for i, c := range m.cols {
		if c.Title == "" {
			continue
		}
		for _, ri := range m.view {
			if cell(m.rows[ri], i) != "" {
				cols = append(cols, i)
				t.Headers = append(t.Headers, c.Title)
				break
			}
		}
	}
	for _, ri := range m.view {
		r := make([]string, len(cols))
		for j, i := range cols {
			r[j] = cell(m.rows[ri], i)
		}
		t.Rows = append(t.Rows, r)
	}
	return t
}
