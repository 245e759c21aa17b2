# Reference output for haven/trials/tests/test_table1.py: the CDISC pilot's demographics (CSR Table
# 14-2.01 layout) from adsl, intent-to-treat population (ITTFL == "Y"), by planned arm TRT01P.
# Numeric: n, mean, sd, median, min, max per arm and in total; one-way ANOVA (anova(lm(x ~ arm))).
# Categorical: counts per arm and level; chisq.test(correct = FALSE). Base R only. Run from the
# repository root:
#   Rscript haven/trials/tests/reference/table1_adsl.R ../shared/data/cdiscpilot01/adam/adsl.csv haven/trials/tests/reference/table1_adsl.json

args <- commandArgs(trailingOnly = TRUE)
adsl <- read.csv(args[[1]])
adsl <- adsl[adsl$ITTFL == "Y", ]
arms <- c("Placebo", "Xanomeline Low Dose", "Xanomeline High Dose")
adsl$TRT01P <- factor(adsl$TRT01P, levels = arms)
numeric_vars <- c("AGE", "BMIBL", "WEIGHTBL", "HEIGHTBL", "EDUCLVL", "MMSETOT")
categorical_vars <- c("AGEGR1", "SEX", "RACE", "ETHNIC")

numeric_out <- lapply(numeric_vars, function(v) {
  s <- function(x) {
    x <- x[!is.na(x)]
    c(length(x), mean(x), sd(x), median(x), min(x), max(x))
  }
  per <- lapply(arms, function(a) s(adsl[[v]][adsl$TRT01P == a]))
  names(per) <- arms
  per$Total <- s(adsl[[v]])
  a <- anova(lm(adsl[[v]] ~ adsl$TRT01P))
  list(summary = per, f = a$`F value`[1], p = a$`Pr(>F)`[1])
})
names(numeric_out) <- numeric_vars
old <- Sys.setlocale("LC_COLLATE", "C")
categorical_out <- lapply(categorical_vars, function(v) {
  tab <- table(adsl$TRT01P, factor(adsl[[v]], levels = sort(unique(adsl[[v]]))))
  r <- chisq.test(tab, correct = FALSE)
  list(levels = colnames(tab), counts = unclass(unname(tab)), chi_square = unname(r$statistic),
    df = unname(r$parameter), p = r$p.value)
})
names(categorical_out) <- categorical_vars

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
    return(if (is.character(x)) paste0("[", vals, "]") else vals)
  }
  paste0("[", paste(vals, collapse = ", "), "]")
}
writeLines(to_json(list(
  software = list(R = R.version.string),
  arms = arms,
  numeric = numeric_out,
  categorical = categorical_out
)), args[[2]])
