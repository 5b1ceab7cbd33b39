"""Studies of a judge against people and against itself: which items to route to clinicians
(`route`), a rubric aligned from their corrections (`align`), and bias probes (`probe`)."""
