# Reference output for haven/trials/tests/test_incidence.py: treatment-emergent adverse events of the
# CDISC pilot (adae TRTEMFL == "Y") in the safety population (adsl SAFFL == "Y", arm TRT01A), per arm:
# subjects with at least one event, events, and fisher.test p against placebo, for "any event", each
# body system (AEBODSYS) and each preferred term (AEDECOD) within it. Base R only. Run from the
# repository root:
#   Rscript haven/trials/tests/reference/ae_incidence.R ../shared/data/cdiscpilot01/adam haven/trials/tests/reference/ae_incidence.csv

args <- commandArgs(trailingOnly = TRUE)
adsl <- read.csv(file.path(args[[1]], "adsl.csv"))
adae <- read.csv(file.path(args[[1]], "adae.csv"))
adsl <- adsl[adsl$SAFFL == "Y", ]
adae <- adae[adae$TRTEMFL == "Y" & adae$USUBJID %in% adsl$USUBJID, ]
adae$ARM <- adsl$TRT01A[match(adae$USUBJID, adsl$USUBJID)]
arms <- c("Placebo", "Xanomeline Low Dose", "Xanomeline High Dose")
totals <- sapply(arms, function(a) sum(adsl$TRT01A == a))

one <- function(level, soc, term, s) {
  n <- sapply(arms, function(a) length(unique(s$USUBJID[s$ARM == a])))
  ev <- sapply(arms, function(a) sum(s$ARM == a))
  p <- sapply(arms[-1], function(a) {
    fisher.test(matrix(c(n[[a]], totals[[a]] - n[[a]], n[["Placebo"]], totals[["Placebo"]] - n[["Placebo"]]), 2,
      byrow = TRUE))$p.value
  })
  data.frame(level = level, soc = soc, term = term,
    n_placebo = n[[1]], n_low = n[[2]], n_high = n[[3]],
    events_placebo = ev[[1]], events_low = ev[[2]], events_high = ev[[3]],
    p_low = sprintf("%.15g", p[[1]]), p_high = sprintf("%.15g", p[[2]]))
}
rows <- list(one("any", "", "", adae))
# Sorted in the C locale, as Python sorts strings.
old <- Sys.setlocale("LC_COLLATE", "C")
for (soc in sort(unique(adae$AEBODSYS))) {
  s <- adae[adae$AEBODSYS == soc, ]
  rows[[length(rows) + 1]] <- one("soc", soc, "", s)
  for (term in sort(unique(s$AEDECOD))) {
    rows[[length(rows) + 1]] <- one("term", soc, term, s[s$AEDECOD == term, ])
  }
}
out <- do.call(rbind, rows)
writeLines(c(
  paste0("# ", R.version.string, "; totals (safety population): ", paste(arms, totals, sep = " = ", collapse = ", ")),
  capture.output(write.csv(out, row.names = FALSE))
), args[[2]])
