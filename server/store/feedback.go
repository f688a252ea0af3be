package store

// feedbackSchema holds the help site's feedback.
const feedbackSchema = ``
