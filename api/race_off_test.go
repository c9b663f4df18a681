//go:build !race

package api_test

// raceDetector is true in a -race build (race_on_test.go).
const raceDetector = false
