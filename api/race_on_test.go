//go:build race

package api_test

// raceDetector is true in a -race build, where moving large strings through
// the API is many times slower: the heap test sends fewer of them.
const raceDetector = true
