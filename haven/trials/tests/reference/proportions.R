# Reference output for haven/trials/tests/test_proportions.py (base R only):
#   Wilson             prop.test(x, n, correct = FALSE)$conf.int
#   Clopper-Pearson    binom.test(x, n)$conf.int
#   Wald difference    prop.test(c(x1, x2), c(n1, n2), correct = FALSE)$conf.int
#   Newcombe (hybrid)  method 10 of Newcombe (1998) from the two prop.test Wilson intervals
#   Fisher             fisher.test(table)$p.value and $estimate is NOT used (conditional MLE); the
#                      sample odds ratio is checked by hand in the test
#   chi-square         chisq.test(table, correct = FALSE / TRUE)
# Run from the repository root:
#   Rscript haven/trials/tests/reference/proportions.R haven/trials/tests/reference/proportions.json

args <- commandArgs(trailingOnly = TRUE)
single <- list(c(0, 10), c(1, 10), c(5, 10), c(10, 10), c(28, 42), c(14, 44), c(3, 250))
one <- lapply(single, function(xn) {
  w <- prop.test(xn[1], xn[2], correct = FALSE)$conf.int
  e <- binom.test(xn[1], xn[2])$conf.int
  c(xn, w, e)
})
pairs <- list(c(28, 42, 14, 44), c(56, 70, 48, 80), c(9, 10, 3, 10), c(0, 20, 4, 21))
two <- lapply(pairs, function(v) {
  wald <- prop.test(c(v[1], v[3]), c(v[2], v[4]), correct = FALSE)$conf.int
  w1 <- prop.test(v[1], v[2], correct = FALSE)$conf.int
  w2 <- prop.test(v[3], v[4], correct = FALSE)$conf.int
  p1 <- v[1] / v[2]
  p2 <- v[3] / v[4]
  d <- p1 - p2
  newc <- c(d - sqrt((p1 - w1[1])^2 + (w2[2] - p2)^2), d + sqrt((w1[2] - p1)^2 + (p2 - w2[1])^2))
  c(v, wald, newc)
})
tables <- list(matrix(c(28, 14, 14, 30), 2), matrix(c(3, 0, 7, 10), 2), matrix(c(12, 5, 74, 81), 2),
  matrix(c(1, 9, 11, 3), 2))
fisher <- lapply(tables, function(t) c(as.vector(t(t)), fisher.test(t)$p.value))
chi_tables <- list(matrix(c(28, 14, 14, 30), 2), matrix(c(20, 30, 25, 15, 40, 35), 2))
chi <- lapply(chi_tables, function(t) {
  r <- chisq.test(t, correct = FALSE)
  out <- list(table = unname(t), statistic = unname(r$statistic), df = unname(r$parameter), p = r$p.value)
  if (all(dim(t) == 2)) {
    y <- chisq.test(t, correct = TRUE)
    out$yates_statistic <- unname(y$statistic)
    out$yates_p <- y$p.value
  }
  out
})

mat <- function(rows) do.call(rbind, rows)
json_num <- function(x) formatC(x, digits = 15, format = "g")
to_json <- function(x, indent = "") {
  inner <- paste0(indent, "  ")
  if (is.list(x) && !is.null(names(x))) {
    parts <- vapply(seq_along(x), function(i) paste0(inner, "\"", names(x)[[i]], "\": ", to_json(x[[i]], inner)), "")
    return(paste0("{\n", paste(parts, collapse = ",\n"), "\n", indent, "}"))
  }
  if (is.list(x)) {
    parts <- vapply(x, function(e) paste0(inner, to_json(e, inner)), "")
    return(paste0("[\n", paste(parts, collapse = ",\n"), "\n", indent, "]"))
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
writeLines(to_json(list(
  software = list(R = R.version.string),
  single_columns = c("x", "n", "wilson_lower", "wilson_upper", "exact_lower", "exact_upper"),
  single = mat(one),
  difference_columns = c("x1", "n1", "x2", "n2", "wald_lower", "wald_upper", "newcombe_lower", "newcombe_upper"),
  difference = mat(two),
  fisher_columns = c("a", "b", "c", "d", "p"),
  fisher = mat(fisher),
  chi_square = chi
)), args[[1]])
