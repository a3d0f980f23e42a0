package ui

import (
	"strconv"
	"time"
)

// series is one stacked series of a chart: its name and CSS class.
type series struct {
	Name  string
	Class string
}

// bucket is one time bucket of a chart.
type bucket struct {
	Start  time.Time
	Label  string
	Values []int // per series
	Total  int
}

// bar is one drawn rectangle of a stacked bar.
type bar struct {
	X, Y, W, H float64
	Class      string
	Title      string
}

// axisLabel is a label on an axis.
type axisLabel struct {
	X, Y float64
	Text string
}

// chart is a stacked bar chart, laid out on the server and drawn as SVG
// by the template, with a table of the same numbers for screen readers and
// for anyone who prefers numbers.
type chart struct {
	Title     string
	Series    []series
	Buckets   []bucket
	Width     float64
	Height    float64
	Bars      []bar
	YLabels   []axisLabel
	XLabels   []axisLabel
	Gridlines []float64
	Max       int
	Empty     bool
}

// timeChart collects counts into equal time buckets.
type timeChart struct {
	start   time.Time
	step    time.Duration
	n       int
	nseries int
	counts  [][]int     // [bucket][series]
	starts  []time.Time // the buckets' starts when they differ in width (weeks, months); else nil
	format  string      // time layout of the labels
}

// newTimeChart makes n buckets of step ending at end (exclusive).
func newTimeChart(end time.Time, step time.Duration, n, nseries int, layout string) *timeChart {
	end = end.UTC().Truncate(step).Add(step)
	c := &timeChart{start: end.Add(-time.Duration(n) * step), step: step, n: n, nseries: nseries, format: layout}
	c.counts = make([][]int, n)
	for i := range c.counts {
		c.counts[i] = make([]int, nseries)
	}
	return c
}

// newDayChart makes a chart of the last days days with two series.
func newDayChart(now time.Time, days int) *timeChart {
	return newTimeChart(now, 24*time.Hour, days, 2, "Jan 2")
}

// add counts n events of series s at t; times outside are ignored.
func (c *timeChart) add(t time.Time, s, n int) {
	if t.Before(c.start) || s < 0 || s >= c.nseries {
		return
	}
	i := int(t.Sub(c.start) / c.step)
	if i >= c.n {
		return
	}
	c.counts[i][s] += n
}

// Chart geometry, in SVG user units: about CSS pixels at the widths the
// pages give charts (full: a page-wide card; half: a card of two).
const (
	chartFull   = 1100.0
	chartHalf   = 520.0
	chartH      = 230.0
	chartLeft   = 40.0
	chartBottom = 24.0
	chartTop    = 8.0
	chartRight  = 24.0
)

// chart lays the counts out for a page-wide card.
func (c *timeChart) chart(title string, ss []series) *chart { return c.layout(title, ss, chartFull) }

// halfChart lays the counts out for a card half the page wide.
func (c *timeChart) halfChart(title string, ss []series) *chart {
	return c.layout(title, ss, chartHalf)
}

// layout lays the counts out chartW units wide.
func (c *timeChart) layout(title string, ss []series, chartW float64) *chart {
	ch := &chart{Title: title, Series: ss, Width: chartW, Height: chartH}
	for i := range c.n {
		b := bucket{Start: c.start.Add(time.Duration(i) * c.step), Values: c.counts[i]}
		if c.starts != nil {
			b.Start = c.starts[i]
		}
		b.Label = b.Start.Format(c.format)
		for _, v := range b.Values {
			b.Total += v
		}
		ch.Max = max(ch.Max, b.Total)
		ch.Buckets = append(ch.Buckets, b)
	}
	ch.Empty = ch.Max == 0
	top := niceMax(ch.Max)
	plotH := chartH - chartBottom - chartTop
	slot := (chartW - chartLeft - chartRight) / float64(c.n)
	w := slot * 0.72
	for i, b := range ch.Buckets {
		x := chartLeft + float64(i)*slot + (slot-w)/2
		y := chartTop + plotH
		for s, v := range b.Values {
			if v == 0 {
				continue
			}
			hgt := float64(v) / float64(top) * plotH
			y -= hgt
			ch.Bars = append(ch.Bars, bar{X: round1(x), Y: round1(y), W: round1(w), H: round1(hgt), Class: ss[s].Class,
				Title: b.Label + ": " + strconv.Itoa(v) + " " + ss[s].Name})
		}
		if every := max(1, c.n/int(chartW/90)); i%every == 0 {
			ch.XLabels = append(ch.XLabels, axisLabel{X: round1(x + w/2), Y: chartH - 6, Text: b.Label})
		}
	}
	for k := 0; k <= 4; k++ {
		v := top * k / 4
		y := chartTop + plotH - float64(v)/float64(top)*plotH
		ch.Gridlines = append(ch.Gridlines, round1(y))
		ch.YLabels = append(ch.YLabels, axisLabel{X: chartLeft - 6, Y: round1(y + 4), Text: strconv.Itoa(v)})
	}
	return ch
}

// niceMax rounds a maximum up to a number that divides into 4 nicely.
func niceMax(m int) int {
	if m <= 4 {
		return 4
	}
	for p := 1; p <= 1_000_000_000; p *= 10 {
		for _, unit := range []int{1, 2, 5} {
			if step := unit * p; step*4 >= m {
				return step * 4
			}
		}
	}
	return m
}

func round1(f float64) float64 { return float64(int(f*10+0.5)) / 10 }
