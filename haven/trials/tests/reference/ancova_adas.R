# Reference output for haven/trials/tests/test_ancova.py: the CDISC pilot's primary efficacy analysis,
# ADAS-Cog (11) change from baseline to week 24 with LOCF (CSR Table 14-3.01).
#
# Rows: adqsadas with PARAMCD == "ACTOT", AVISIT == "Week 24", EFFFL == "Y", ANL01FL == "Y" (the
# analysis record of each subject at week 24, observed or carried forward; DTYPE == "LOCF" marks the
# latter). Models, as in the CSR:
#   dose response   lm(CHG ~ TRTPN + SITEGR1 + BASE), t test of the TRTPN slope
#   pairwise        lm(CHG ~ TRTP + SITEGR1 + BASE) on all three arms; emmeans LS means (equal weights
#                   over pooled sites, BASE at its mean) and unadjusted pairwise differences
# Run from the repository root:
#
#   Rscript haven/trials/tests/reference/ancova_adas.R ../shared/data/cdiscpilot01/adam/adqsadas.csv.gz haven/trials/tests/reference/ancova_adas.json

suppressPackageStartupMessages(library(emmeans))

args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(gzfile(args[[1]]))
d <- d[d$PARAMCD == "ACTOT" & d$AVISIT == "Week 24" & d$EFFFL == "Y" & d$ANL01FL == "Y", ]
d$SITEGR1 <- factor(d$SITEGR1)
arms <- c("Placebo", "Xanomeline Low Dose", "Xanomeline High Dose")
d$TRTP <- factor(d$TRTP, levels = arms)

dose <- lm(CHG ~ TRTPN + SITEGR1 + BASE, data = d)
dose_row <- summary(dose)$coefficients["TRTPN", ]
fit <- lm(CHG ~ TRTP + SITEGR1 + BASE, data = d)
emm <- emmeans(fit, ~ TRTP)
emm_df <- as.data.frame(summary(emm, infer = c(TRUE, TRUE)))
prs <- as.data.frame(summary(pairs(emm, reverse = TRUE, adjust = "none"), infer = c(TRUE, TRUE)))
by_arm <- function(col, f) unname(tapply(d[[col]], d$TRTP, f))

out <- list(
  software = list(R = R.version.string, emmeans = as.character(packageVersion("emmeans"))),
  arms = arms,
  n = by_arm("CHG", length),
  base_mean = by_arm("BASE", mean), base_sd = by_arm("BASE", sd),
  aval_mean = by_arm("AVAL", mean), aval_sd = by_arm("AVAL", sd),
  chg_mean = by_arm("CHG", mean), chg_sd = by_arm("CHG", sd),
  dose_response = list(estimate = dose_row[["Estimate"]], se = dose_row[["Std. Error"]],
    t = dose_row[["t value"]], p = dose_row[["Pr(>|t|)"]], df = dose$df.residual),
  coef_names = names(coef(fit)),
  coef = unname(coef(fit)),
  vcov = unname(vcov(fit)),
  df_resid = fit$df.residual,
  lsmeans = list(estimate = emm_df$emmean, se = emm_df$SE, df = emm_df$df,
    lower = emm_df$lower.CL, upper = emm_df$upper.CL),
  pairwise = list(contrast = as.character(prs$contrast), estimate = prs$estimate, se = prs$SE,
    lower = prs$lower.CL, upper = prs$upper.CL, t = prs$t.ratio, p = prs$p.value)
)

json_num <- function(x) formatC(x, digits = 15, format = "g")
to_json <- function(x, indent = "") {
  inner <- paste0(indent, "  ")
  if (is.list(x)) {
    parts <- vapply(seq_along(x), function(i) paste0(inner, "\"", names(x)[[i]], "\": ", to_json(x[[i]], inner)), "")
    return(paste0("{\n", paste(parts, collapse = ",\n"), "\n", indent, "}"))
  }
  if (is.matrix(x)) {
    rows <- apply(x, 1, function(r) paste0("[", paste(json_num(r), collapse = ", "), "]"))
    return(paste0("[\n", inner, paste(rows, collapse = paste0(",\n", inner)), "\n", indent, "]"))
  }
  vals <- if (is.character(x)) paste0("\"", x, "\"") else json_num(x)
  if (length(x) == 1) {
    return(vals)
  }
  paste0("[", paste(vals, collapse = ", "), "]")
}
writeLines(to_json(out), args[[2]])
