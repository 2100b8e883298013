package analysis

import (
	"fmt"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// KeptMeasurements is how many measurements a record keeps per check (the
// status' MaxItems); its counts keep counting the older ones.
const KeptMeasurements = 10

// Record adds a measurement to a check's record: it counts it and keeps
// the last KeptMeasurements. As in Argo, an Error measurement (no answer)
// is not one of the count a step analysis takes: it is taken again at the
// next interval, and counts against inconclusiveLimit only.
func Record(rec *v1alpha1.CheckRecord, m v1alpha1.Measurement) {
	switch m.Phase {
	case v1alpha1.MeasurementSuccessful:
		rec.Successful++
	case v1alpha1.MeasurementFailed:
		rec.Failed++
	case v1alpha1.MeasurementInconclusive:
		rec.Inconclusive++
	case v1alpha1.MeasurementError:
		rec.Error++
	}
	if m.Phase != v1alpha1.MeasurementError {
		rec.Count++
	}
	rec.Measurements = append(rec.Measurements, m)
	if over := len(rec.Measurements) - KeptMeasurements; over > 0 {
		rec.Measurements = append([]v1alpha1.Measurement(nil), rec.Measurements[over:]...)
	}
}

// Name is how logs, scenarios and the plugin name a check of an analysis:
// "error-rate (step 3)", "error-rate (background)". step is 0-based.
func Name(check string, background bool, step int32) string {
	if background {
		return check + " (background)"
	}
	return fmt.Sprintf("%s (step %d)", check, step+1)
}
